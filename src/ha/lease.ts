// The HA group's lease (CONTRACT.md section 6): at most one instance is active, the one
// holding the lease in the shared database; it renews the lease, and it stops acting
// before the lease can run out, whether or not it can still reach the database.
//
// Two clocks, on purpose. Whether a lease has expired is decided by the database's
// clock alone (the port's queries use it), so the hosts' clocks never have to agree.
// Whether this instance may still act is decided by its own monotonic clock: a renewal
// sent at local time t0 and granted for leaseMs lasts, on the server, until at least
// t0 + leaseMs (the server stamped it after we sent it), so acting until
// t0 + leaseMs - margin is safe even if the database is never heard from again, and a
// process frozen past that (SIGSTOP, a long GC) finds its permission gone when it wakes.
// A standby takes the lease only once the database says it expired, which is after the
// old active stopped. Every durable act of the active also carries the lease's epoch
// (the fencing token), which the store checks in the same transaction (a stale active
// that wakes up cannot write, whatever its clock says).
import { EventEmitter } from 'node:events'
import type { Log } from '../log.ts'

/** The lease as the database holds it after an attempt to take or renew it. */
export interface LeaseState {
  /** Who holds it now (null: nobody ever did, or it was released). */
  holder: string | null
  /** Increases every time the lease changes hands or is taken again after running out. */
  epoch: number
  /** Whether the caller holds it now (the attempt took or renewed it). */
  mine: boolean
  /** How long the holder's lease still runs, by the database's clock (0 when expired). */
  remainingMs: number
}

/** One member of the group as it last reported itself. */
export interface GroupMember { id: string, role: Role, advertiseUrl: string | null, lastSeenAt: string }

export type Role = 'active' | 'standby'

/** The database side (src/store/postgres/lease.ts). */
export interface LeasePort {
  /**
   * Takes the lease for `instanceId` when it is free or expired, or renews it when
   * `instanceId` holds it with `epoch` and it has not expired; otherwise changes nothing.
   */
  acquire: (instanceId: string, leaseMs: number, epoch: number | undefined) => Promise<LeaseState>
  /** Gives the lease up (a clean stop), only if still held with `epoch`. */
  release: (instanceId: string, epoch: number) => Promise<void>
  /** Records that `instanceId` is alive, in `role`, reachable at `advertiseUrl`. */
  heartbeat: (member: { id: string, role: Role, advertiseUrl: string | null }) => Promise<void>
  /** Every instance heard from, most recently seen first. */
  members: () => Promise<GroupMember[]>
}

export interface LeaseKeeperOptions {
  port: LeasePort
  instanceId: string
  advertiseUrl?: string
  leaseMs: number
  log: Log
  /** Monotonic milliseconds (tests pass their own). */
  now?: () => number
  /**
   * Taken off the lease for acting locally: the database's and this host's clocks may run
   * at slightly different rates, and acting stops before, never after, the lease ends.
   * Default: a tenth of the lease, at least 100 ms.
   */
  marginMs?: number
}

/** After a lease seen running out: how long past its end the next try comes (never sooner than this). */
const TRY_AGAIN_MS = 25

/** The token that fences an active's writes: the store refuses them once the lease moved on. */
export interface FenceToken { holder: string, epoch: number }

export class LeaseKeeper extends EventEmitter<{ active: [epoch: number], standby: [reason: string] }> {
  private role: Role = 'standby'
  private epoch: number | undefined
  /** Local monotonic time until which this instance may act (only while active). */
  private actUntil = 0
  private timer: NodeJS.Timeout | undefined
  private expiry: NodeJS.Timeout | undefined
  private running = false
  /** When the loop tries next: renewEveryMs, or sooner when another's lease runs out before that. */
  private nextTryMs = 0
  private round: Promise<void> | undefined
  private readonly now: () => number
  private readonly marginMs: number

  constructor (private readonly opts: LeaseKeeperOptions) {
    super()
    this.now = opts.now ?? (() => performance.now())
    this.marginMs = opts.marginMs ?? Math.max(100, Math.floor(opts.leaseMs / 10))
  }

  /** How often the lease is renewed (and a standby tries to take it): three tries per lease. */
  get renewEveryMs (): number { return Math.max(50, Math.floor(this.opts.leaseMs / 3)) }

  get currentRole (): Role { return this.role }

  /** Whether this instance may act now: it holds the lease and its local deadline has not passed. */
  mayAct (): boolean {
    if (this.role !== 'active') return false
    if (this.now() < this.actUntil) return true
    this.demote('the lease was not renewed in time')
    return false
  }

  /** The fencing token for a durable act, or undefined when this instance may not act. */
  fence (): FenceToken | undefined {
    return this.mayAct() && this.epoch !== undefined ? { holder: this.opts.instanceId, epoch: this.epoch } : undefined
  }

  start (): void {
    if (this.running) return
    this.running = true
    this.schedule(0)
  }

  /** Stops renewing; an active gives the lease up so a standby takes over at once. */
  async stop (): Promise<void> {
    this.running = false
    clearTimeout(this.timer)
    await this.round
    const epoch = this.epoch
    const wasActive = this.role === 'active'
    this.demote('stopping')
    if (wasActive && epoch !== undefined) {
      await this.opts.port.release(this.opts.instanceId, epoch).catch((err: unknown) => {
        this.opts.log.warn({ err }, 'ha: could not release the lease at stop (a standby takes over when it runs out)')
      })
    }
  }

  /** One attempt to take or renew the lease now (the loop calls it; tests may too). */
  async tick (): Promise<void> {
    this.round ??= this.attempt().finally(() => { this.round = undefined })
    await this.round
  }

  private schedule (ms: number): void {
    if (!this.running) return
    clearTimeout(this.timer)
    this.timer = setTimeout(() => { void this.tick().finally(() => { this.schedule(this.nextTryMs) }) }, ms)
  }

  private async attempt (): Promise<void> {
    const { port, instanceId, leaseMs, log } = this.opts
    const sentAt = this.now()
    const held = this.role === 'active' ? this.epoch : undefined
    this.nextTryMs = this.renewEveryMs
    let state: LeaseState
    try {
      state = await port.acquire(instanceId, leaseMs, held)
    } catch (err) {
      // The database cannot be reached: an active keeps acting only until its local
      // deadline (the expiry timer demotes it then); nothing else to do until it answers.
      log.warn({ err }, 'ha: the lease could not be renewed or taken')
      return
    }
    if (state.mine) {
      const fresh = this.role !== 'active' || this.epoch !== state.epoch
      this.epoch = state.epoch
      this.actUntil = sentAt + leaseMs - this.marginMs
      this.role = 'active'
      clearTimeout(this.expiry)
      this.expiry = setTimeout(() => { this.mayAct() }, Math.max(0, this.actUntil - this.now()))
      this.expiry.unref()
      if (fresh) {
        log.info({ epoch: state.epoch }, 'ha: this instance is active')
        this.emit('active', state.epoch)
      }
    } else {
      this.demote(`the lease is held by ${state.holder ?? 'nobody'}`)
      // A holder that stopped renewing: try again just after its lease runs out (by the
      // database's clock, as it said it), not up to a third of a lease later. Early is
      // harmless: the database refuses and says how long is left.
      if (state.remainingMs < this.renewEveryMs) this.nextTryMs = Math.max(TRY_AGAIN_MS, state.remainingMs + TRY_AGAIN_MS)
    }
    // A renewal answered after the deadline it grants (the process froze while it was in
    // flight): standby now, so the roll call does not report an active that may not act.
    if (this.role === 'active') this.mayAct()
    await port.heartbeat({ id: instanceId, role: this.role, advertiseUrl: this.opts.advertiseUrl ?? null }).catch(() => {})
  }

  private demote (reason: string): void {
    clearTimeout(this.expiry)
    if (this.role !== 'active') return
    this.role = 'standby'
    this.actUntil = 0
    this.opts.log.warn({ epoch: this.epoch, reason }, 'ha: this instance is standby')
    this.emit('standby', reason)
  }
}
