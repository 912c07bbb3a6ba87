// What the call model needs from storage. Calls live in the tracker's memory while they
// matter; the store is their durable copy, written through the journal in the order the
// changes were made (src/store/journal.ts; src/store/call-records.ts is the real one).
import { isFinished, type Call } from './types.ts'

export interface CallRepository {
  /** Writes the call: into the transaction being collected, else a transaction of its own. */
  save: (call: Call) => Promise<void>
  /**
   * Runs fn (synchronously): every write it makes (the call, its outcome's APKT record, ACW
   * deadline and audit entry) is one transaction. Resolves once that transaction is durable.
   * If fn throws, it throws (synchronously) and nothing of it is written.
   */
  transaction: (fn: () => void) => Promise<void>
  /** A call from the store (one the tracker no longer holds in memory). */
  get: (callId: string) => Promise<Call | undefined>
  /** Calls that were not over when the service last stopped. */
  loadUnfinished: () => Promise<Call[]>
}

/** For unit tests: durable at once. */
export class MemoryCallRepository implements CallRepository {
  private readonly rows = new Map<string, string>()
  async save (call: Call): Promise<void> { this.rows.set(call.callId, JSON.stringify(call)) }
  async get (callId: string): Promise<Call | undefined> {
    const row = this.rows.get(callId)
    return row === undefined ? undefined : JSON.parse(row) as Call
  }

  async loadUnfinished (): Promise<Call[]> {
    return [...this.rows.values()].map(r => JSON.parse(r) as Call).filter(c => !isFinished(c))
  }

  transaction (fn: () => void): Promise<void> {
    fn() // a throw stays synchronous, as the journal's batch()
    return Promise.resolve()
  }
}
