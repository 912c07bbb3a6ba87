// Wiring: composes the features in one visible order and owns their lifecycle (start
// order, and the reverse on stop). Each feature is built in src/wiring/ from the
// validated config and the features it needs; a call's walk from its AMI event to its
// APKT record passes through the wiring once (docs/ARCHITECTURE.md).
import { hostname } from 'node:os'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { AmiClient } from './ami/index.ts'
import type { AcwService } from './acw/service.ts'
import type { Outbox } from './apkt/outbox.ts'
import type { Dispatcher } from './apkt/dispatcher.ts'
import { buildApp } from './app.ts'
import type { CallTracker } from './calls/tracker.ts'
import type { Config } from './config/schema.ts'
import type { Failpoint } from './failpoints.ts'
import { LiveFeed } from './live/feed.ts'
import type { ServiceMetrics } from './metrics/index.ts'
import type { Retention } from './retention/purger.ts'
import type { Store } from './store/port.ts'
import { wireAcw } from './wiring/acw.ts'
import { wireAmi } from './wiring/ami.ts'
import { wireApkt } from './wiring/apkt.ts'
import { wireCalls } from './wiring/calls.ts'
import { wireLive } from './wiring/live.ts'
import { wireRepair } from './wiring/repair.ts'
import { wireRetention } from './wiring/retention.ts'
import { loadAgentsToday, wireShift } from './wiring/shift.ts'
import type { ShiftService } from './agents/shift.ts'
import { wireStore } from './wiring/store.ts'
import { wireTransfer } from './wiring/transfer.ts'

export interface Service {
  config: Config
  app: FastifyInstance
  ami: AmiClient
  store: Store
  outbox: Outbox
  dispatcher: Dispatcher
  tracker: CallTracker
  feed: LiveFeed
  acw: AcwService
  shift: ShiftService
  metrics: ServiceMetrics
  retention: Retention
  /** Listens, then connects to AMI; resolves with the listening address. */
  start: () => Promise<string>
  /** Stops taking requests, lets in-flight ones finish, then closes AMI and the store. */
  stop: () => Promise<void>
}

export async function createService (config: Config, logger: Logger, opts: { failpoint?: Failpoint } = {}): Promise<Service> {
  const instanceId = hostname() // stable across restarts: a restart drops the claims its last run left
  const store = await wireStore(config, logger) // 1. the database, migrated; the journal; the audit log
  const feed = new LiveFeed()
  const { outbox, dispatcher, recordEffect } = wireApkt(config, logger, store, feed, instanceId) // 2. outbox and dispatcher
  const pbx = wireAmi(config, logger) // 3. the AMI client and Asterisk's live picture
  // 4. logged-in agents, loaded: the tracker and ACW ask for each agent's interface of today
  const agents = await loadAgentsToday(config, store)
  const calls = await wireCalls(config, logger, store, pbx, { ids: agents.agentIds, get: agents.today, loggedIn: id => agents.sessions.get(id) !== undefined }) // 5. the tracker, loaded, fed AMI events
  const { tracker, inquiries } = calls
  let shiftRef: ShiftService | undefined
  const { acw, deadlineEffect } = wireAcw(config, logger, store, pbx, calls, { today: agents.today, afterAcw: id => shiftRef?.afterAcw(id) }, opts.failpoint) // 6. ACW, hears the tracker
  const shift = shiftRef = wireShift(config, logger, store, pbx.ami, tracker, acw, agents) // 7. login, logout, pauses; the status asked for next, at ACW's end
  const transfers = wireTransfer(config, logger, store, pbx, calls, acw, opts.failpoint) // 8. the button
  let stopped = false
  wireRepair(logger, store, pbx.ami, calls, acw, transfers, () => stopped, shift) // 9. resync after an AMI login or a store outage
  // What an outcome causes, in this order, all inside the transaction that records it
  // (src/calls/outcome-effects.ts): 1. the APKT record, 2. a landed transfer's ACW
  // deadline, 3. the press's audit entry. Once durable: the live feed and metrics
  // (tracker events), and the dispatcher's kick (the APKT effect waits for the commit).
  tracker.setOutcomeEffects([recordEffect, deadlineEffect, transfers.recordPressOutcome])
  const live = wireLive(config, { feed, tracker, acw, shift, ami: pbx.ami, outbox, transfers }) // 10. live feed, views, metrics
  const { metrics } = live
  const app = await buildApp(config, { // 11. the HTTP face
    ...live, ami: pbx.ami, store: { check: store.check, kind: store.store.kind, where: store.store.where }, durability: store.durability,
    outbox, dispatcher, tracker, inquiries, transfers, feed, acw, shift, audit: store.audit,
    directory: config.directory,
    agentIds: new Set(live.agentIds)
  }, logger)
  const retention = wireRetention(config, logger, store.store) // 12. the purge of old rows
  return {
    config, app, ami: pbx.ami, store: store.store, outbox, dispatcher, tracker, feed, acw, shift, metrics, retention,
    async start () {
      await acw.recover() // deadlines from before a restart keep running
      shift.recover() // and pauses their over-max timers
      const address = await app.listen({ host: config.http.host, port: config.http.port })
      pbx.ami.start()
      dispatcher.start() // sends what a previous run left pending
      retention.start()
      return address
    },
    // Roughly the reverse: no new requests first, the store last (nothing may write after it closed).
    async stop () {
      if (stopped) return
      stopped = true
      await app.close()
      transfers.close()
      await retention.stop()
      acw.stop()
      shift.stop()
      metrics.close()
      await pbx.ami.close()
      await dispatcher.stop(config.http.shutdownTimeoutMs / 2) // before the store closes under it
      await store.journal.close(config.http.shutdownTimeoutMs / 2) // what is queued is written
      await store.store.close()
    }
  }
}
