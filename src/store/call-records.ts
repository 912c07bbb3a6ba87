// Calls in the store, through the journal: writes join the transaction being collected
// (an outcome and what it causes commit together), reads are the engine's queries.
// The journal's promises are returned as they are (not wrapped by an async function):
// a writer that does not wait for one must not leave an unhandled rejection behind.
import type { Call } from '../calls/types.ts'
import type { CallRepository } from '../calls/repository.ts'
import type { Journal } from './journal.ts'
import type { CallQueries } from './port.ts'

export class JournaledCallRepository implements CallRepository {
  constructor (private readonly journal: Journal, private readonly queries: CallQueries) {}

  save (call: Call): Promise<void> { return this.journal.add({ kind: 'call', call }) }

  transaction (fn: () => void): Promise<void> { return this.journal.batch(fn).saved }

  async get (callId: string): Promise<Call | undefined> { return await this.queries.get(callId) }

  async loadUnfinished (): Promise<Call[]> { return await this.queries.unfinished() }
}
