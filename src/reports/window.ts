// The last 15 minutes of queue outcomes, in memory, for the Prometheus gauges
// pln123_service_level_15m and pln123_abandon_rate_15m: fed the same facts the store
// records (answered with its wait, abandoned), by when the caller left the queue.
// Over the callers who left the queue in the window (answered or abandoned):
//   service level = answered within serviceLevelSeconds / (answered + abandoned)
//   abandon rate  = abandoned / (answered + abandoned)
// Both undefined while nobody left the queue in the window.
import type { ReportFact } from './fact.ts'

const WINDOW_MS = 15 * 60_000

export class QueueWindow {
  /** [when (ms), answered within the threshold ? 1 : 0, abandoned ? 1 : 0], oldest first. */
  private readonly items: Array<[number, 0 | 1, 0 | 1]> = []
  private head = 0
  private within = 0
  private abandoned = 0

  constructor (private readonly serviceLevelSeconds: number, private readonly now: () => number = Date.now, private readonly windowMs = WINDOW_MS) {}

  add (fact: ReportFact): void {
    if (fact.kind !== 'answered' && fact.kind !== 'abandoned') return
    const w: 0 | 1 = fact.kind === 'answered' && (fact.seconds ?? 0) <= this.serviceLevelSeconds ? 1 : 0
    const a: 0 | 1 = fact.kind === 'abandoned' ? 1 : 0
    this.items.push([Date.parse(fact.at), w, a])
    this.within += w
    this.abandoned += a
    this.expire()
  }

  serviceLevel (): number | undefined { this.expire(); const n = this.size; return n === 0 ? undefined : this.within / n }
  abandonRate (): number | undefined { this.expire(); const n = this.size; return n === 0 ? undefined : this.abandoned / n }

  private get size (): number { return this.items.length - this.head }

  private expire (): void {
    const edge = this.now() - this.windowMs
    while (this.head < this.items.length && (this.items[this.head] as [number, 0 | 1, 0 | 1])[0] <= edge) {
      const [, w, a] = this.items[this.head] as [number, 0 | 1, 0 | 1]
      this.within -= w
      this.abandoned -= a
      this.head++
    }
    // Compact now and then rather than shift() per item.
    if (this.head > 1024 && this.head * 2 > this.items.length) { this.items.splice(0, this.head); this.head = 0 }
  }
}
