// One report fact (CONTRACT.md section 8): something that happened that a supervisor's
// report counts. Facts are written as they happen, through the journal, in the batch of
// the change that caused them (src/reports/facts.ts makes them); the store keeps each
// one (for audit, until retention takes it) and adds it to the rollups the reports read
// (src/store/report-rollups.ts), in the same transaction.

export const factKinds = ['joined', 'answered', 'abandoned', 'talk', 'topic', 'transfer', 'landing', 'acw', 'pause', 'wrapup'] as const
export type FactKind = typeof factKinds[number]

export interface ReportFact {
  /**
   * Unique per fact, derived from what it is about (`answered:<callId>`, `acw:<agent>:<start>`):
   * a fact handed in twice (an event seen again after a reconnect) counts once.
   */
  id: string
  kind: FactKind
  /** When it happened (UTC ISO-8601). */
  at: string
  /**
   * The instant it counts at (UTC ISO-8601): a call's numbers count in the interval
   * where the caller joined the queue; ACW and a pause in the one where they began.
   */
  countsAt: string
  callId?: string
  agentId?: string
  /**
   * What it is, by kind: joined the queue's name; topic the topic; transfer
   * completed|failed; landing answered|abandoned|failed; pause the reason; wrapup the code.
   */
  key?: string
  /** answered and abandoned: the wait; talk, acw, pause: their length. */
  seconds?: number
}
