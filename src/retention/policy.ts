// What retention deletes (CONTRACT.md section 9), said once for the store, the
// scheduler and the CLI. The rules themselves are SQL in src/store/retention-repository.ts;
// this folder holds the policy and the pacing, and imports no database driver.
//
//   calls          closed (ended, or transferred) before the cutoff, by their end time
//                  or, without one, their last change; never a live call, and never a
//                  call whose APKT record is still pending or dead
//   audit          entries written before the cutoff
//   apktDelivered  APKT records delivered before the cutoff; pending and dead records
//                  are never deleted (they still need an operator or a delivery)
//   reports        report facts that happened before the cutoff, and the reports' rollups
//                  of hours and days that ended by it (CONTRACT.md section 9: report data)
export const retentionTables = ['calls', 'audit', 'apktDelivered', 'reports'] as const
export type RetentionTable = typeof retentionTables[number]

export type TableCounts = Record<RetentionTable, number>

/** The storage side: one small batch at a time, each its own transaction. */
export interface RetentionStore {
  /**
   * Deletes up to `limit` rows of `table` older than `cutoff` that the policy lets go.
   * `after` is the position reached by the previous batch of the same pass (undefined
   * at the start); the answer's `after` is undefined when nothing older is left to look at.
   */
  deleteBatch: (table: RetentionTable, cutoff: string, limit: number, after?: string) => Promise<{ deleted: number, after?: string }>
  /** How many rows a pass would delete now (for a dry run). */
  countOld: (table: RetentionTable, cutoff: string) => Promise<number>
}

const DAY_MS = 86_400_000

/** Rows older than this instant go (UTC ISO-8601, as every time in the store). */
export const cutoffFor = (days: number, now: Date): string => new Date(now.getTime() - days * DAY_MS).toISOString()

export const zeroCounts = (): TableCounts => ({ calls: 0, audit: 0, apktDelivered: 0, reports: 0 })
