// Wiring: the one place that builds every part from the validated config and owns
// their lifecycle (start order, and the reverse on stop).
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { AmiClient, AmiError } from './ami/index.ts'
import { buildApp } from './app.ts'
import type { Config } from './config/schema.ts'
import { openStore, type Store } from './store/sqlite.ts'
import { isStoreUnavailable } from './store/errors.ts'
import { migrations } from './store/migrations.ts'
import { apktMigrations } from './apkt/migrations.ts'
import { Outbox } from './apkt/outbox.ts'
import { Dispatcher } from './apkt/dispatcher.ts'
import { recordForOutcome } from './apkt/from-call.ts'
import { agentView } from './calls/agents.ts'
import { InquiryService } from './calls/inquiry.ts'
import { CallTracker } from './calls/tracker.ts'
import { loadPolicies } from './policy/index.ts'
import { SqliteCallRepository } from './store/calls-repository.ts'
import { TransferService } from './transfer/service.ts'
import { resyncFromPbx } from './calls/resync.ts'
import { pbxSnapshots } from './ami/snapshots.ts'
import { callView } from './http/calls-routes.ts'
import { LiveFeed } from './live/feed.ts'
import { AcwService } from './acw/service.ts'
import { systemClock } from './acw/types.ts'
import { SqliteAcwRepository } from './store/acw-repository.ts'
import { SqliteAuditLog } from './store/audit-repository.ts'
import type { Failpoint } from './failpoints.ts'
import { StoreGuard } from './calls/store-guard.ts'
import { ServiceMetrics } from './metrics/index.ts'
import { Retention } from './retention/purger.ts'
import { SqliteRetentionStore } from './store/retention-repository.ts'

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
  metrics: ServiceMetrics
  retention: Retention
  /** Listens, then connects to AMI; resolves with the listening address. */
  start: () => Promise<string>
  /** Stops taking requests, lets in-flight ones finish, then closes AMI and the store. */
  stop: () => Promise<void>
}

export async function createService (config: Config, logger: Logger, opts: { failpoint?: Failpoint } = {}): Promise<Service> {
  const store = openStore(config.store.path, [...migrations, ...apktMigrations])
  const outbox = new Outbox(store.db)
  const feed = new LiveFeed()
  const dispatcher = new Dispatcher({
    onSettled: () => feed.publish('apkt', outbox.stats()),
    outbox,
    url: config.apkt.url,
    token: config.apkt.token,
    timeoutMs: config.apkt.timeoutMs,
    ...config.apkt.dispatcher,
    log: logger.child({ module: 'apkt' })
  })
  const ami = new AmiClient({ ...config.ami, logger: logger.child({ module: 'ami' }) })

  const policy = loadPolicies(config.policy.dir)
  const tracker = new CallTracker(config.agents, new SqliteCallRepository(store.db), logger.child({ module: 'calls' }))
  tracker.load()
  const audit = new SqliteAuditLog(store.db)
  // Store unwritable (disk full, read-only): AMI events and ACW steps that cannot be
  // recorded must not crash the process; the guard logs once and, when the store takes
  // writes again, resyncs from Asterisk (test/faults/store-unwritable.test.ts).
  const callsLog = logger.child({ module: 'calls' })
  const transferTarget = (index: number) => config.directory.find(d => d.index === index)
  const livePicture = pbxSnapshots(ami)
  const resync = async (): Promise<void> => { await resyncFromPbx(livePicture, tracker, callsLog, err => guard.report(err, 'resync'), transferTarget) }
  const guard = new StoreGuard({
    check: () => { store.check() },
    isUnavailable: isStoreUnavailable,
    heal: async () => {
      tracker.recordUnrecorded()
      await resync()
      await acw.reapply()
    },
    log: logger.child({ module: 'store' })
  })
  const acw = new AcwService({
    repo: new SqliteAcwRepository(store.db),
    pbx: { async setPaused (iface, paused, reason) { await ami.action('QueuePause', { Interface: iface, Paused: paused ? 'true' : 'false', ...(paused ? { Reason: reason } : {}) }) } },
    clock: systemClock,
    log: logger.child({ module: 'acw' }),
    audit,
    agents: config.agents,
    settings: config.acw,
    pauseOf: id => { const st = tracker.agentStatus(id); return st === undefined ? undefined : { paused: st.paused, reason: st.pausedReason } },
    onCall: id => tracker.agentStatus(id)?.callId !== undefined,
    confirmTimeoutMs: config.ami.actionTimeoutMs,
    onError: err => { guard.report(err, 'ACW') },
    retry: config.ami.reconnect, // a refused unpause is tried again at the pace of an AMI reconnect
    ...(opts.failpoint !== undefined ? { failpoint: opts.failpoint } : {})
  })
  tracker.on('released', (agentId, call, reason) => {
    opts.failpoint?.('acw:released')
    acw.onReleased(agentId, call.callId, call.queue, reason)
  })
  tracker.on('memberPause', (agentId, paused, reason) => acw.onPauseEvent(agentId, paused, reason))
  ami.on('event', ev => { guard.run(`AMI ${ev.event}`, () => { tracker.onAmi(ev) }) })
  ami.on('connected', () => {
    // A login just before stop() must not touch the store after it closed.
    void resync()
      .then(async () => { if (!stopped) { transfers.checkUnsettled(); await acw.reapply() } })
      .catch((err: unknown) => { if (!stopped) logger.error({ err }, 'ACW re-apply after AMI login failed') })
  })
  const inquiries = new InquiryService(tracker, policy)
  const transfers = new TransferService(tracker, {
    async blindTransfer (channel, context, exten) {
      opts.failpoint?.('transfer:sending') // crash tests: "transferring" recorded, nothing sent
      await ami.action('BlindTransfer', { Channel: channel, Context: context, Exten: exten })
      opts.failpoint?.('transfer:sent') // crash tests: Asterisk has it, the outcome is not recorded
    },
    onConnectionLost (cb) {
      const lost = (reason: string): void => { cb(new AmiError('AMI_CONNECTION_LOST', 'BlindTransfer', `AMI connection lost after Asterisk accepted BlindTransfer, before it confirmed it (${reason}); its outcome is unknown`)) }
      ami.on('disconnected', lost)
      return () => { ami.off('disconnected', lost) }
    },
    channels: livePicture.channels
  }, config.directory, { confirmTimeoutMs: config.ami.actionTimeoutMs }, logger.child({ module: 'transfer' }), {
    hold: (agentId, callId, queue) => acw.holdForTransfer(agentId, callId, queue),
    failed: async (agentId) => { await acw.releaseHold(agentId) }
  })
  // What an outcome causes, in this order, all inside the transaction that records it
  // (src/calls/outcome-effects.ts): 1. the APKT record, 2. a landed transfer's ACW
  // deadline, 3. the press's audit entry. After the commit: the live feed and metrics
  // (tracker events), then the dispatcher's kick (the microtask queued below).
  tracker.setOutcomeEffects([
    (call, outcome) => {
      const made = recordForOutcome(call, outcome, config.agents, new Date())
      if (made === undefined) return
      const { record } = outbox.add(made.record, made.outcomeKey)
      call.apkt = { recordId: record.id, permasalahan: record.permasalahan }
      queueMicrotask(() => { dispatcher.kick(); feed.publish('apkt', outbox.stats()) }) // after the transaction has committed
    },
    (call, outcome) => { if (outcome === 'transferred' && call.agentId !== undefined) acw.recordTransferred(call.agentId, call.callId) },
    transfers.recordPressOutcome
  ])
  const apktStatus = (id: string): string | undefined => outbox.get(id)?.status
  const view = (agentId: string) => { const st = tracker.agentStatus(agentId); return st === undefined ? undefined : agentView(agentId, st, acw) }
  tracker.on('call', c => feed.publish('call', callView(c, apktStatus)))
  tracker.on('agent', id => feed.publish('agent', view(id)))
  ami.on('state', () => feed.publish('ami', ami.status()))
  acw.on('change', id => feed.publish('agent', view(id)))
  const agentIds = config.agents.map(a => a.id)
  const agentViews = () => agentIds.map(view)
  const metrics = new ServiceMetrics({ tracker, transfers, acw, ami, outbox, agentIds, agents: agentViews })
  const app = await buildApp(config, {
    ami, store, outbox, dispatcher, tracker, inquiries, transfers, apktStatus,
    directory: config.directory,
    agentIds: new Set(agentIds),
    view,
    feed,
    acw,
    audit,
    metrics,
    snapshot: () => ({
      agents: agentViews(),
      calls: tracker.liveCalls().map(c => callView(c, apktStatus)),
      ami: ami.status(),
      apkt: outbox.stats()
    })
  }, logger)
  // Deletes what is older than retention.days, in small batches (CONTRACT.md section 9).
  const retention = new Retention({ store: new SqliteRetentionStore(store.db), ...config.retention, log: logger.child({ module: 'retention' }) })
  let stopped = false
  return {
    config,
    app,
    ami,
    store,
    outbox,
    dispatcher,
    tracker,
    feed,
    acw,
    metrics,
    retention,
    async start () {
      acw.recover() // deadlines from before a restart keep running
      const address = await app.listen({ host: config.http.host, port: config.http.port })
      ami.start()
      dispatcher.start() // sends what a previous run left pending
      retention.start()
      return address
    },
    async stop () {
      if (stopped) return
      stopped = true
      await app.close()
      transfers.close()
      await retention.stop()
      acw.stop()
      guard.stop()
      metrics.close()
      await ami.close()
      await dispatcher.stop(config.http.shutdownTimeoutMs / 2) // before the store closes under it
      store.close()
    }
  }
}
