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
import type { StoreWait } from './store/open.ts'
import type { Store } from './store/port.ts'
import { wireAcw } from './wiring/acw.ts'
import { wireAgentAdmin, wireAgents, type AgentsWiring } from './wiring/agents.ts'
import { wireAmi } from './wiring/ami.ts'
import { wireApkt } from './wiring/apkt.ts'
import { wireCalls } from './wiring/calls.ts'
import { wireLive } from './wiring/live.ts'
import { wireRepair } from './wiring/repair.ts'
import { wireReports } from './wiring/reports.ts'
import { wireRetention } from './wiring/retention.ts'
import { loadAgentsToday, wireShift } from './wiring/shift.ts'
import type { ShiftService } from './agents/shift.ts'
import { wireStore } from './wiring/store.ts'
import { wireTransfer } from './wiring/transfer.ts'
import { wireWrapup } from './wiring/wrapup.ts'
import type { WrapupService } from './wrapup/service.ts'
import type { GroupStatus } from './ha/group-status.ts'
import type { LeaseKeeper } from './ha/lease.ts'

/**
 * The service as the active instance of an HA group (src/ha/runner.ts builds it once the
 * keeper holds the lease): AMI actions and APKT deliveries only while `keeper.mayAct()`,
 * every commit fenced with the lease's epoch, and the group's status for GET /v1/status.
 */
export interface ServiceGroup {
  keeper: Pick<LeaseKeeper, 'mayAct' | 'fence' | 'currentRole'>
  status: () => Promise<GroupStatus>
}

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
  wrapups: WrapupService
  shift: ShiftService
  metrics: ServiceMetrics
  retention: Retention
  /** The agent directory (config + store), its reload from the store, the run-time tokens. */
  agents: AgentsWiring
  /** Listens, then connects to AMI; resolves with the listening address. `beforeListen`: frees the port (server.ts's starting app) at the last moment. */
  start: (hooks?: { beforeListen?: () => Promise<void> }) => Promise<string>
  /** Stops taking requests, lets in-flight ones finish, then closes AMI and the store. */
  stop: () => Promise<void>
}

export async function createService (config: Config, logger: Logger, opts: { failpoint?: Failpoint, storeWait?: StoreWait, group?: ServiceGroup } = {}): Promise<Service> {
  // Stable across restarts: a restart drops the claims its last run left. In a group, the
  // instance's own name: two instances on one host must not drop each other's claims.
  const instanceId = config.ha?.instanceId ?? hostname()
  const group = opts.group
  const mayAct = group !== undefined ? () => group.keeper.mayAct() : undefined
  const store = await wireStore(config, logger, opts.storeWait) // 1. the database, migrated; the journal; the audit log
  if (group !== undefined) {
    // Before anything reads or writes: every commit of this service carries the lease's epoch.
    if (store.store.group === undefined) { await store.store.close(); throw new Error('an HA group needs a store the group can share (store.kind postgres)') }
    store.store.group.fenceWith(() => group.keeper.fence())
  }
  const agents = await wireAgents(config, logger, store) // 1½. the agent directory: the config's agents and the store's
  const { directory } = agents
  const feed = new LiveFeed()
  const { outbox, dispatcher, recordEffect } = wireApkt(config, logger, store, feed, instanceId, directory, mayAct) // 2. outbox and dispatcher
  const pbx = wireAmi(config, logger) // 3. the AMI client and Asterisk's live picture
  if (mayAct !== undefined) pbx.ami.setActionGate(mayAct) // nothing reaches Asterisk once the lease may have run out
  const today = await loadAgentsToday(directory, store) // 3½. logged-in agents: the tracker and ACW ask for each agent's interface of today
  const calls = await wireCalls(config, logger, store, pbx, { ids: today.agentIds, get: today.today, loggedIn: id => today.sessions.get(id) !== undefined }, directory) // 4. the tracker, loaded, fed AMI events
  const { tracker, inquiries } = calls
  let shiftRef: ShiftService | undefined
  const { acw, deadlineEffect } = wireAcw(config, logger, store, pbx, calls, { today: today.today, afterAcw: id => shiftRef?.afterAcw(id) }, opts.failpoint) // 5. ACW, hears the tracker
  const shift = shiftRef = wireShift(config, logger, store, pbx.ami, tracker, acw, today) // 5½. login, logout, pauses; the status asked for next, at ACW's end
  const transfers = wireTransfer(config, logger, store, pbx, calls, acw, opts.failpoint) // 6. the button
  const wrapups = wireWrapup(config, logger, store, pbx, calls, acw, today.today) // 6½. wrap-up codes, closed by ACW's end or the call's
  let stopped = false
  wireRepair(logger, store, pbx.ami, calls, acw, transfers, () => stopped, shift) // 7. resync after an AMI login or a store outage
  // What an outcome causes, in this order, all inside the transaction that records it
  // (src/calls/outcome-effects.ts): 1. the APKT record, 2. a landed transfer's ACW
  // deadline, 3. the press's audit entry. Once durable: the live feed and metrics
  // (tracker events), and the dispatcher's kick (the APKT effect waits for the commit).
  tracker.setOutcomeEffects([recordEffect, deadlineEffect, transfers.recordPressOutcome])
  const live = wireLive(config, { feed, tracker, acw, shift, ami: pbx.ami, outbox, transfers, wrapups }) // 8. live feed, views, metrics
  const { metrics } = live
  wireReports(config, logger, store, pbx, calls, acw, metrics) // 8¼. report facts as they happen (in the commits of what caused them), the queue's last 15 minutes
  // Logged in, for the admin's AGENT_BUSY: a session (login through the API), or a static member online.
  const loggedIn = (id: string): boolean => today.sessions.get(id) !== undefined || tracker.agentStatus(id)?.presence === 'online'
  const agentAdmin = wireAgentAdmin(config, agents, store, { tracker, acw, loggedIn }) // 8½. the admin API's service
  const app = await buildApp(config, { // 9. the HTTP face
    ...live, ami: pbx.ami, store: { check: store.check, kind: store.store.kind, where: store.store.where }, durability: store.durability,
    outbox, dispatcher, tracker, inquiries, transfers, wrapups, feed, acw, shift, audit: store.audit,
    directory: config.directory,
    agentIds: directory,
    agentAdmin,
    loggedIn,
    runTimeTokens: agents.runTimeTokens,
    reports: store.store.reports,
    serviceLevelSeconds: config.reports.serviceLevelSeconds,
    agentName: id => directory.get(id)?.name,
    instance: { id: instanceId, ...(config.ha !== undefined ? { advertiseUrl: config.ha.advertiseUrl } : {}) },
    ...(group !== undefined ? { group: { role: () => group.keeper.currentRole, status: group.status } } : {})
  }, logger)
  const retention = wireRetention(config, logger, store.store) // 10. the purge of old rows
  return {
    config, app, ami: pbx.ami, store: store.store, outbox, dispatcher, tracker, feed, acw, shift, wrapups, metrics, retention, agents,
    async start (hooks = {}) {
      await acw.recover() // deadlines from before a restart keep running
      shift.recover() // and pauses their over-max timers
      agents.start() // another instance's or the CLI's agent changes, seen within a second
      await app.ready() // booted before the port is freed for it: the hand-over is only the bind
      await hooks.beforeListen?.()
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
      agents.stop()
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
