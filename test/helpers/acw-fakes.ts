// ACW's unit tests drive AcwService with these: a clock whose wall and monotonic times
// move only when told (timers run on the monotonic one, as Node's do) and an in-memory
// repository of ACW rows.
import type { AcwEntry, AcwRepository, Clock } from '../../src/acw/types.ts'

/** Wall time `t` and monotonic time `mono`; timers run on the monotonic one, as Node's do. */
export class FakeClock implements Clock {
  t = Date.parse('2026-11-24T03:00:00Z')
  mono = 1_000
  private timers: Array<{ at: number, fn: () => void, id: number }> = []
  private next = 1
  now = (): number => this.t
  monotonic = (): number => this.mono
  setTimeout = (fn: () => void, ms: number): unknown => { const id = this.next++; this.timers.push({ at: this.mono + ms, fn, id }); return id }
  clearTimeout = (h: unknown): void => { this.timers = this.timers.filter(x => x.id !== h) }
  /** Moves time forward, firing due timers in order, letting promises settle between. */
  async advance (ms: number): Promise<void> {
    const end = this.mono + ms
    for (;;) {
      await settle()
      const due = this.timers.filter(x => x.at <= end).sort((a, b) => a.at - b.at)[0]
      if (due === undefined) break
      this.timers = this.timers.filter(x => x !== due)
      this.t += due.at - this.mono
      this.mono = due.at
      due.fn()
    }
    this.t += end - this.mono
    this.mono = end
    await settle()
  }

  /** The wall clock is set (NTP step, an operator's date): monotonic time does not move. */
  jump (ms: number): void { this.t += ms }
}

export const settle = async (): Promise<void> => { for (let i = 0; i < 20; i++) await Promise.resolve() }

export class MemRepo implements AcwRepository {
  rows = new Map<string, AcwEntry>()
  saves = 0
  load = async (): Promise<void> => {}
  all = (): AcwEntry[] => [...this.rows.values()]
  get = (id: string): AcwEntry | undefined => this.rows.get(id)
  save = async (e: AcwEntry): Promise<void> => { this.saves++; this.rows.set(e.agentId, { ...e }) }
  delete = async (id: string): Promise<void> => { this.rows.delete(id) }
}
