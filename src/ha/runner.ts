// A process of an HA group (CONTRACT.md section 6; config `ha`, PostgreSQL only). Roles
// are a matter of the whole process, not of each feature: while standby the process
// serves a standby app on the port (src/ha/standby-app.ts) and holds nothing of the
// service; once its lease keeper takes the lease it builds the full service exactly as
// a single instance does (the store loaded, ACW recovered with its deadlines unchanged,
// AMI logged in and resynced, the outbox claimed: the takeover is a start, the path the
// restart tests already cover) and hands the port over, as server.ts does with the
// starting app. Should it lose the lease (the database out of reach, or the process
// frozen past it), the service stops and the standby app takes the port again.
//
// Acting is bounded twice, by the keeper (src/ha/lease.ts): the AMI adapter and the
// APKT dispatcher ask mayAct() before each action or delivery (the local clock), and
// every commit carries the lease's epoch (the database's check). A clean stop of the
// active stops its service first, then gives the lease up, so a standby takes over at
// once rather than after the lease runs out.
import type { AddressInfo } from 'node:net'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { setTimeout as delay } from 'node:timers/promises'
import type { Logger } from 'pino'
import { apktMigrations } from '../apkt/migrations.ts'
import type { Config } from '../config/schema.ts'
import type { Failpoint } from '../failpoints.ts'
import { createService, type Service } from '../service.ts'
import { StoreVersionError } from '../store/errors.ts'
import { migrations } from '../store/migrations.ts'
import { storeConfigOf } from '../store/open.ts'
import { openGroupPort, type GroupPort } from '../store/postgres/group-port.ts'
import type { GroupStatus } from './group-status.ts'
import { LeaseKeeper } from './lease.ts'
import { buildStandbyApp, type StandbyApp } from './standby-app.ts'

export interface GroupRunnerOptions {
  failpoint?: Failpoint
  /** A fault that leaves the process nothing sensible to do (a store written by a newer version): server.ts exits. */
  onFatal: (err: Error) => void
}

/** After a failed build of the service the lease is given up, and taken again no sooner than this. */
const REBUILD_PAUSE_MS = 5000

export class GroupRunner {
  private config: Config
  private readonly log: Logger
  private readonly instanceId: string
  private readonly abort = new AbortController()
  private port: GroupPort | undefined
  private keeper: LeaseKeeper | undefined
  private standby: StandbyApp | undefined
  private service: Service | undefined
  /** Aborted when the lease is lost (or at stop) while the service is being built. */
  private building: AbortController | undefined
  /** Role changes, one at a time, in order. */
  private chain: Promise<void> = Promise.resolve()
  private stopping = false
  private activeUrl: string | undefined
  private roll: NodeJS.Timeout | undefined

  constructor (config: Config, logger: Logger, private readonly opts: GroupRunnerOptions) {
    if (config.ha === undefined || config.store.kind !== 'postgres') throw new Error('an HA group needs ha and store.kind postgres (config.load checks this)')
    this.config = config
    this.log = logger
    this.instanceId = config.ha.instanceId
  }

  /** Listens (standby) at once, then waits for the database and runs for the lease. */
  async start (): Promise<void> {
    const ha = this.config.ha
    if (ha === undefined) return
    await this.serveStandby()
    const store = storeConfigOf(this.config.store)
    if (store.kind !== 'postgres') return
    const log = this.log.child({ module: 'ha' })
    try {
      this.port = await openGroupPort({ url: store.url, leaseMs: ha.leaseMs, log, signal: this.abort.signal }, [...migrations, ...apktMigrations])
    } catch (err) {
      if (this.abort.signal.aborted) return
      throw err
    }
    if (this.stopping) { await this.port.close(); return }
    const keeper = this.keeper = new LeaseKeeper({ port: this.port.lease, instanceId: this.instanceId, advertiseUrl: ha.advertiseUrl, leaseMs: ha.leaseMs, log })
    keeper.on('active', () => { this.reconcile() })
    keeper.on('standby', () => { this.building?.abort(); this.reconcile() })
    keeper.start()
    // A standby learns where the active is (for its app) from the roll call, a few times per lease.
    this.roll = setInterval(() => { if (this.service === undefined) void this.groupStatus().catch(() => {}) }, keeper.renewEveryMs)
    this.roll.unref()
    this.log.info({ instanceId: this.instanceId, leaseMs: ha.leaseMs }, 'ha: in the group, standby until the lease is taken')
  }

  /** The active: stops the service, then gives the lease up; a standby: closes its app. */
  async stop (): Promise<void> {
    this.stopping = true
    this.abort.abort()
    this.building?.abort()
    clearInterval(this.roll)
    await this.chain
    const service = this.service
    this.service = undefined
    await service?.stop() // while the lease still runs: its last writes are fenced with a live epoch
    await this.keeper?.stop() // an active gives the lease up: a standby takes over at its next try
    const standby = this.standby
    this.standby = undefined
    await standby?.app.close()
    await this.port?.close()
  }

  /** The group as the database tells it, and the active's URL remembered for the standby app. */
  private async groupStatus (): Promise<GroupStatus> {
    const port = this.port
    if (port === undefined) throw new Error('the group\'s database is not reached yet')
    const [lease, instances] = await Promise.all([port.holder(), port.lease.members()])
    const holder = lease.holder !== null ? instances.find(m => m.id === lease.holder) : undefined
    this.activeUrl = holder?.advertiseUrl ?? undefined
    return { role: this.keeper?.currentRole ?? 'standby', leaseHolder: lease.holder, leaseExpiresAt: lease.expiresAt, instances }
  }

  private reconcile (): void {
    this.chain = this.chain.then(async () => { await this.step() }).catch((err: unknown) => {
      this.log.error({ err }, 'ha: a change of role failed')
    })
  }

  private async step (): Promise<void> {
    const keeper = this.keeper
    if (this.stopping || keeper === undefined) return
    if (keeper.currentRole === 'active' && this.service === undefined) await this.becomeActive(keeper)
    else if (keeper.currentRole !== 'active' && this.service !== undefined) await this.standDown()
  }

  private async becomeActive (keeper: LeaseKeeper): Promise<void> {
    const startedAt = performance.now()
    // The build is mostly synchronous work (routes, schemas); its longest stall of the
    // event loop is logged, since a stall near the lease's length costs the lease.
    const stalls = monitorEventLoopDelay({ resolution: 20 })
    stalls.enable()
    const building = this.building = new AbortController()
    let created: Service
    try {
      created = await createService(this.config, this.log, {
        ...(this.opts.failpoint !== undefined ? { failpoint: this.opts.failpoint } : {}),
        storeWait: { signal: building.signal },
        group: { keeper, status: async () => await this.groupStatus() }
      })
    } catch (err) {
      stalls.disable()
      if (building.signal.aborted) return // lost the lease, or stopping, while building
      if (err instanceof StoreVersionError) { this.opts.onFatal(err); return }
      // The lease is no use to an instance that cannot build its service: another may.
      this.log.error({ err }, 'ha: the service could not be built; giving the lease up')
      await keeper.stop()
      await delay(REBUILD_PAUSE_MS)
      if (!this.stopping) keeper.start()
      return
    } finally {
      this.building = undefined
    }
    if (this.stopping || keeper.currentRole !== 'active') {
      stalls.disable()
      await created.stop()
      return
    }
    this.service = created
    let released: { closed: Promise<void> } | undefined
    let address: string
    try {
      address = await created.start({
        beforeListen: async () => {
          const standby = this.standby
          this.standby = undefined
          released = await standby?.release()
        }
      })
    } catch (err) {
      stalls.disable()
      this.log.error({ err }, 'ha: the service could not start; giving the lease up')
      this.service = undefined
      await created.stop().catch(() => {})
      if (this.standby === undefined && !this.stopping) await this.serveStandby()
      await keeper.stop()
      await delay(REBUILD_PAUSE_MS)
      if (!this.stopping) keeper.start()
      return
    }
    await released?.closed
    stalls.disable()
    this.log.info({ address, instanceId: this.instanceId, buildMs: Math.round(performance.now() - startedAt), longestStallMs: Math.round(stalls.max / 1e6) }, 'ha: active, the full service took the port')
    // Lost again while starting: the next step stands down at once.
    if (keeper.currentRole !== 'active') this.reconcile()
  }

  private async standDown (): Promise<void> {
    const service = this.service
    this.service = undefined
    if (service === undefined) return
    this.log.warn({ instanceId: this.instanceId }, 'ha: the lease is lost; stopping the service (nothing it does is let through any more)')
    // Bounded: its acts and writes are refused already, so waiting longer buys nothing.
    const limit = this.config.http.shutdownTimeoutMs
    let timer: NodeJS.Timeout | undefined
    const late = await Promise.race([
      service.stop().then(() => false, (err: unknown) => { this.log.error({ err }, 'ha: the service stopped with an error'); return false }),
      new Promise<boolean>(resolve => { timer = setTimeout(() => { resolve(true) }, limit) })
    ])
    clearTimeout(timer)
    if (late) this.log.warn({ waitedMs: limit }, 'ha: the service did not stop in time; serving the standby app beside what is left of it')
    if (!this.stopping) await this.serveStandby()
  }

  /** The standby app on the configured port (the port the service had, when it freed it). */
  private async serveStandby (): Promise<void> {
    const standby = await buildStandbyApp(this.config, {
      instanceId: this.instanceId,
      activeUrl: () => this.activeUrl,
      group: async () => await this.groupStatus()
    }, this.log)
    // The service's app frees the port as its close begins; a bind may still meet it for a moment.
    for (let attempt = 1; ; attempt++) {
      try {
        await standby.app.listen({ host: this.config.http.host, port: this.config.http.port })
        break
      } catch (err) {
        if ((err as { code?: string }).code !== 'EADDRINUSE' || attempt >= 50) throw err
        await delay(100)
      }
    }
    // Port 0 (tests): the service takes the port the standby app was given, and so on.
    this.config = { ...this.config, http: { ...this.config.http, port: (standby.app.server.address() as AddressInfo).port } }
    this.standby = standby
    this.log.info({ port: this.config.http.port, instanceId: this.instanceId }, 'ha: standby, the standby app took the port')
  }
}
