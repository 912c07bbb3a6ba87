// The APKT feature: the outbox (records saved with the outcome that makes them), the
// dispatcher that posts them, and the outcome effect that makes a call's record.
import type { Logger } from 'pino'
import type { Config } from '../config/schema.ts'
import type { AgentDirectory } from '../agents/directory.ts'
import { Outbox } from '../apkt/outbox.ts'
import { Dispatcher } from '../apkt/dispatcher.ts'
import { apktRecordEffect } from '../apkt/outcome-effect.ts'
import type { OutcomeEffect } from '../calls/outcome-effects.ts'
import type { LiveFeed } from '../live/feed.ts'
import type { StoreWiring } from './store.ts'

export interface ApktWiring { outbox: Outbox, dispatcher: Dispatcher, recordEffect: OutcomeEffect }

/**
 * A claim holds other dispatchers off for longer than a delivery and its settling can
 * take; a dispatcher that died leaves its claims to run out (or to its next start).
 */
const claimLeaseMs = (timeoutMs: number): number => Math.max(30_000, 3 * timeoutMs)

/** `mayAct`: in an HA group, whether this instance may deliver now (the lease); absent: always. */
export function wireApkt (config: Config, logger: Logger, { store, journal }: StoreWiring, feed: LiveFeed, instanceId: string, directory: AgentDirectory, mayAct?: () => boolean): ApktWiring {
  const log = logger.child({ module: 'apkt' })
  const outbox = new Outbox({ queries: store.outbox, write: change => journal.add(change), owner: instanceId, leaseMs: claimLeaseMs(config.apkt.timeoutMs) })
  // The live feed's APKT counts after each outcome and each delivery: one read at a time,
  // and one more after it if asked meanwhile (a burst of 200 outcomes reads them twice,
  // not 200 times, in the store's queue beside the commits).
  let reading = false
  let again = false
  const publishStats = (): void => {
    if (reading) { again = true; return }
    reading = true
    again = false
    outbox.stats().then(s => { feed.publish('apkt', s) }, (err: unknown) => { log.debug({ err }, 'APKT counts not read for the live feed') })
      .finally(() => { reading = false; if (again) publishStats() })
  }
  const dispatcher = new Dispatcher({
    onSettled: publishStats,
    outbox,
    url: config.apkt.url,
    token: config.apkt.token,
    timeoutMs: config.apkt.timeoutMs,
    ...config.apkt.dispatcher,
    ...(mayAct !== undefined ? { mayAct } : {}),
    log
  })
  const recordEffect = apktRecordEffect(outbox, id => directory.get(id), () => { dispatcher.kick(); publishStats() })
  return { outbox, dispatcher, recordEffect }
}
