// What the call model needs from storage. The SQLite implementation lives in
// src/store/calls-repository.ts; tests may use the in-memory one below.
import { isFinished, type Call } from './types.ts'

export interface CallRepository {
  save: (call: Call) => void
  get: (callId: string) => Call | undefined
  /** Calls that were not over when the service last stopped. */
  loadUnfinished: () => Call[]
  /** Runs fn atomically: a call's outcome and what it causes (an APKT record) commit together. */
  transaction: <T>(fn: () => T) => T
}

export class MemoryCallRepository implements CallRepository {
  private readonly rows = new Map<string, string>()
  save (call: Call): void { this.rows.set(call.callId, JSON.stringify(call)) }
  get (callId: string): Call | undefined {
    const row = this.rows.get(callId)
    return row === undefined ? undefined : JSON.parse(row) as Call
  }

  loadUnfinished (): Call[] {
    return [...this.rows.values()].map(r => JSON.parse(r) as Call).filter(c => !isFinished(c))
  }

  transaction<T> (fn: () => T): T { return fn() }
}
