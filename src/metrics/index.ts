// Prometheus metrics for the operator (GET /metrics). One Registry per service, never
// prom-client's global one, so several services (tests) live in one process.
// Counters and histograms follow events of the parts (wired in service.ts); gauges
// of state (agents, outbox, AMI) are read on scrape, so they cannot drift from the truth.
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { AcwEntry } from '../acw/types.ts'
import type { AmiStatus } from '../ami/index.ts'
import { outboxStatuses, type OutboxStats } from '../apkt/outbox.ts'
import type { Outcome } from '../calls/tracker.ts'
import type { AgentStateName, AgentView, Call, Landing } from '../calls/types.ts'
import type { TransferAttempt } from '../transfer/service.ts'

/** What the metrics listen to and read; each a small slice of a real part. */
export interface MetricsSources {
  tracker: {
    on: ((event: 'outcome', fn: (call: Call, outcome: Outcome) => void) => unknown) &
      ((event: 'landing', fn: (call: Call, landing: Landing) => void) => unknown)
  }
  transfers: { on: (event: 'attempt', fn: (a: TransferAttempt) => void) => unknown }
  acw: { on: (event: 'change', fn: (agentId: string) => void) => unknown, entry: (agentId: string) => AcwEntry | undefined }
  ami: { on: (event: 'connected', fn: () => void) => unknown, status: () => AmiStatus }
  outbox: { stats: () => Promise<OutboxStats> }
  /** The agents as they are now (agents come and go at run time). */
  agentIds: () => readonly string[]
  agents: () => Array<AgentView | undefined>
  /** pauses past their reason's maxMinutes (src/agents/shift.ts) */
  pauses?: { overMax: (agentId: string) => boolean }
  now?: () => number
}

const AGENT_STATES: readonly AgentStateName[] = ['offline', 'ready', 'on_call', 'acw', 'paused']

export class ServiceMetrics {
  readonly registry = new Registry()
  private readonly loop = monitorEventLoopDelay({ resolution: 10 })

  constructor (src: MetricsSources) {
    const registers = [this.registry]
    const now = src.now ?? Date.now

    const calls = new Counter({ name: 'pln123_calls_total', help: 'Calls that reached an outcome, by inquiry topic (unclassified when none) and outcome', labelNames: ['topic', 'outcome'], registers })
    // Counted once committed: an outcome whose transaction rolled back is recorded (and
    // counted) again later, when the store takes it.
    src.tracker.on('outcome', (call, outcome) => { calls.inc({ topic: call.inquiry?.topic ?? 'unclassified', outcome }) })

    // Where transferred customers landed: the tracker tells each call's final status once.
    const landings = new Counter({ name: 'pln123_transfer_landings_total', help: 'Transferred customers by where they landed at the target: answered, abandoned (hung up waiting) or failed (busy, congestion, unreachable, no answer)', labelNames: ['status'], registers })
    src.tracker.on('landing', (_call, landing) => { landings.inc({ status: landing.status }) })

    const transfers = new Counter({ name: 'pln123_transfers_total', help: 'Direct Transfer button presses by result (completed, or the error code)', labelNames: ['result'], registers })
    const latency = new Histogram({
      name: 'pln123_transfer_duration_seconds',
      help: 'From the transfer button to the answer, for transfers sent to Asterisk, by result',
      labelNames: ['result'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13],
      registers
    })
    src.transfers.on('attempt', a => {
      transfers.inc({ result: a.result })
      if (a.reachedPbx) latency.observe({ result: a.result }, a.seconds)
    })

    const acwDuration = new Histogram({
      name: 'pln123_acw_duration_seconds',
      help: 'How long ACW lasted, start to end (extensions and early ends included)',
      buckets: [5, 10, 20, 30, 45, 60, 90, 120, 300, 600, 1800],
      registers
    })
    // ACW start per agent; seeded from the store so an ACW that spans a restart is counted.
    const acwStarted = new Map<string, number>()
    const noteAcw = (agentId: string): void => {
      const e = src.acw.entry(agentId)
      if (e !== undefined) {
        if (e.state !== 'holding') acwStarted.set(agentId, Date.parse(e.startedAt))
        return
      }
      const started = acwStarted.get(agentId)
      if (started === undefined) return
      acwStarted.delete(agentId)
      acwDuration.observe(Math.max(0, now() - started) / 1000)
    }
    for (const id of src.agentIds()) noteAcw(id)
    src.acw.on('change', noteAcw)

    new Gauge({
      name: 'pln123_agents',
      help: 'Agents by state',
      labelNames: ['state'],
      registers,
      collect () {
        const counts = new Map<string, number>(AGENT_STATES.map(s => [s, 0]))
        for (const v of src.agents()) if (v !== undefined) counts.set(v.state, (counts.get(v.state) ?? 0) + 1)
        for (const [state, n] of counts) this.set({ state }, n)
      }
    })

    new Gauge({
      name: 'pln123_agent_pause_over_max',
      help: '1 for an agent whose pause lasts longer than its reason\'s maxMinutes, else 0',
      labelNames: ['agent'],
      registers,
      collect () {
        this.reset()
        for (const id of src.agentIds()) this.set({ agent: id }, src.pauses?.overMax(id) === true ? 1 : 0)
      }
    })

    new Gauge({
      name: 'pln123_apkt_outbox_records',
      help: 'APKT outbox records by status',
      labelNames: ['status'],
      registers,
      async collect () {
        const s = await src.outbox.stats()
        for (const status of outboxStatuses) this.set({ status }, s[status])
      }
    })
    new Gauge({
      name: 'pln123_apkt_oldest_pending_age_seconds',
      help: 'Age of the oldest APKT record not delivered yet (0 when none is pending)',
      registers,
      async collect () { this.set(((await src.outbox.stats()).oldestPendingAgeMs ?? 0) / 1000) }
    })

    new Gauge({
      name: 'pln123_ami_connected',
      help: '1 while logged in to the Asterisk manager interface, else 0',
      registers,
      collect () { this.set(src.ami.status().state === 'connected' ? 1 : 0) }
    })
    const reconnects = new Counter({ name: 'pln123_ami_reconnects_total', help: 'AMI logins after the first one (each follows a lost connection)', registers })
    let logins = 0
    src.ami.on('connected', () => { if (logins++ > 0) reconnects.inc() })

    this.loop.enable()
    const loop = this.loop
    new Gauge({
      name: 'pln123_event_loop_lag_seconds',
      help: 'Event-loop delay since the previous scrape',
      labelNames: ['stat'],
      registers,
      collect () {
        // The histogram is empty until the loop has turned a few times at 10 ms resolution.
        const ok = loop.count > 0
        this.set({ stat: 'mean' }, ok ? loop.mean / 1e9 : 0)
        this.set({ stat: 'p99' }, ok ? loop.percentile(99) / 1e9 : 0)
        this.set({ stat: 'max' }, ok ? loop.max / 1e9 : 0)
        loop.reset()
      }
    })
    new Gauge({
      name: 'pln123_process_memory_bytes',
      help: 'Process memory by kind',
      labelNames: ['kind'],
      registers,
      collect () {
        const m = process.memoryUsage()
        this.set({ kind: 'rss' }, m.rss)
        this.set({ kind: 'heap_used' }, m.heapUsed)
      }
    })
  }

  /**
   * The queue's last 15 minutes (src/reports/window.ts): service level and abandon rate
   * over the callers who left the queue in that time; NaN while none did.
   */
  addQueueWindow (q: { serviceLevel: () => number | undefined, abandonRate: () => number | undefined }): void {
    const registers = [this.registry]
    new Gauge({
      name: 'pln123_service_level_15m',
      help: 'Share (0..1) of the callers who left the queue in the last 15 minutes that were answered within reports.serviceLevelSeconds (NaN when none left it)',
      registers,
      collect () { this.set(q.serviceLevel() ?? Number.NaN) }
    })
    new Gauge({
      name: 'pln123_abandon_rate_15m',
      help: 'Share (0..1) of the callers who left the queue in the last 15 minutes by hanging up while waiting (NaN when none left it)',
      registers,
      collect () { this.set(q.abandonRate() ?? Number.NaN) }
    })
  }

  get contentType (): string { return this.registry.contentType }

  async text (): Promise<string> { return await this.registry.metrics() }

  close (): void { this.loop.disable() }
}
