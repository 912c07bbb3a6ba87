// The APKT feature: the outbox (records saved with the outcome that makes them), the
// dispatcher that posts them, and the outcome effect that makes a call's record.
import type { Logger } from 'pino'
import type { Config } from '../config/schema.ts'
import type { Store } from '../store/sqlite.ts'
import { Outbox } from '../apkt/outbox.ts'
import { Dispatcher } from '../apkt/dispatcher.ts'
import { apktRecordEffect } from '../apkt/outcome-effect.ts'
import type { OutcomeEffect } from '../calls/outcome-effects.ts'
import type { LiveFeed } from '../live/feed.ts'

export interface ApktWiring { outbox: Outbox, dispatcher: Dispatcher, recordEffect: OutcomeEffect }

export function wireApkt (config: Config, logger: Logger, store: Store, feed: LiveFeed): ApktWiring {
  const outbox = new Outbox(store.db)
  const dispatcher = new Dispatcher({
    onSettled: () => feed.publish('apkt', outbox.stats()),
    outbox,
    url: config.apkt.url,
    token: config.apkt.token,
    timeoutMs: config.apkt.timeoutMs,
    ...config.apkt.dispatcher,
    log: logger.child({ module: 'apkt' })
  })
  const recordEffect = apktRecordEffect(outbox, config.agents, () => { dispatcher.kick(); feed.publish('apkt', outbox.stats()) })
  return { outbox, dispatcher, recordEffect }
}
