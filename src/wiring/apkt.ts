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
import { pacedRead } from '../live/paced-read.ts'
import type { StoreWiring } from './store.ts'

export interface ApktWiring { outbox: Outbox, dispatcher: Dispatcher, recordEffect: OutcomeEffect }

/**
 * A claim holds other dispatchers off for longer than a delivery and its settling can
 * take; a dispatcher that died leaves its claims to run out (or to its next start).
 */
/** Most often the live feed's APKT counts are read (ms): a supervisor's counts a quarter second late lose nothing. */
const STATS_EVERY_MS = 250

const claimLeaseMs = (timeoutMs: number): number => Math.max(30_000, 3 * timeoutMs)

/** `mayAct`: in an HA group, whether this instance may deliver now (the lease); absent: always. */
export function wireApkt (config: Config, logger: Logger, { store, journal }: StoreWiring, feed: LiveFeed, instanceId: string, directory: AgentDirectory, mayAct?: () => boolean): ApktWiring {
  const log = logger.child({ module: 'apkt' })
  const outbox = new Outbox({ queries: store.outbox, write: change => journal.add(change), owner: instanceId, leaseMs: claimLeaseMs(config.apkt.timeoutMs) })
  // The live feed's APKT counts after outcomes and deliveries, at most every
  // STATS_EVERY_MS: a read per outcome and per delivery was two store calls per call in
  // the store's one queue, beside the commits a press waits for.
  const stats = pacedRead(async () => {
    try {
      feed.publish('apkt', await outbox.stats())
    } catch (err) {
      log.debug({ err }, 'APKT counts not read for the live feed')
    }
  }, STATS_EVERY_MS)
  const publishStats = stats.ask
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
