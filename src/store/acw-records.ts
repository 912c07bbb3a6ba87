// Running ACW: memory for reads (ACW's timers and checks are synchronous), the journal
// for writes, so a deadline lands in the store in the order it was set, in the same
// transaction as the outcome that caused it when it is written inside one.
import type { AcwEntry, AcwRepository } from '../acw/types.ts'
import type { Journal } from './journal.ts'
import type { AcwQueries } from './port.ts'

export class JournaledAcwRepository implements AcwRepository {
  private readonly entries = new Map<string, AcwEntry>()

  constructor (private readonly journal: Journal, private readonly queries: AcwQueries) {}

  async load (): Promise<void> {
    for (const e of await this.queries.all()) this.entries.set(e.agentId, e)
  }

  all (): AcwEntry[] { return [...this.entries.values()] }
  get (agentId: string): AcwEntry | undefined { return this.entries.get(agentId) }

  save (e: AcwEntry): Promise<void> {
    this.entries.set(e.agentId, e)
    return this.journal.add({ kind: 'acw', entry: e })
  }

  delete (agentId: string): Promise<void> {
    this.entries.delete(agentId)
    return this.journal.add({ kind: 'acwEnded', agentId })
  }
}
