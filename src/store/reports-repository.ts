// The reports in SQLite (migration 14; the layout is src/store/report-rollups.ts's):
// facts kept and added to the rollups inside the commit that carries them, and the two
// report queries. A commit's facts are added row by row once merged, so a busy group
// commit of many calls of one hour touches each rollup row once.
import type { ReportFact } from '../reports/fact.ts'
import type { AgentReportRow, ReportRange, SummaryQuery, SummaryRow } from '../reports/types.ts'
import { dayRange, foldAgents, foldSummary, hourKeyOf, mergeRollups, rollupsOf, waitKey, type AgentDayRow, type ApktHourRow, type HourlyRow, type RollupAdd } from './report-rollups.ts'
import type { Db } from './sqlite.ts'

export class SqliteReports {
  private readonly stmt

  constructor (db: Db) {
    this.stmt = {
      fact: db.prepare(`INSERT INTO report_facts (id, kind, at, counts_at, call_id, agent_id, key, seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (id) DO NOTHING`),
      hourly: db.prepare(`INSERT INTO report_hourly (bucket, metric, key, n, seconds) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (bucket, metric, key) DO UPDATE SET n = n + excluded.n, seconds = seconds + excluded.seconds`),
      daily: db.prepare(`INSERT INTO report_agent_daily (day, agent_id, metric, key, n, seconds) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (day, agent_id, metric, key) DO UPDATE SET n = n + excluded.n, seconds = seconds + excluded.seconds`),
      // The waits up to the threshold summed per hour here, not shipped as a histogram.
      summary: db.prepare<{ from: string, to: string, sl: string }, HourlyRow>(`
        SELECT bucket, metric, key, n, seconds FROM report_hourly WHERE bucket >= @from AND bucket < @to AND metric <> 'wait'
        UNION ALL
        SELECT bucket, 'within' AS metric, '' AS key, SUM(n) AS n, 0 AS seconds FROM report_hourly
          WHERE bucket >= @from AND bucket < @to AND metric = 'wait' AND key <= @sl GROUP BY bucket`),
      apkt: db.prepare<[string, string], ApktHourRow>(`SELECT substr(created_at, 1, 13) AS bucket, status, COUNT(*) AS n
        FROM apkt_records INDEXED BY apkt_records_created WHERE created_at >= ? AND created_at < ? GROUP BY 1, 2`),
      agents: db.prepare<[string, string], AgentDayRow>(`SELECT agent_id, metric, key, SUM(n) AS n, SUM(seconds) AS seconds
        FROM report_agent_daily WHERE day >= ? AND day < ? GROUP BY agent_id, metric, key`)
    }
  }

  /** Inside the caller's transaction. */
  record (facts: readonly ReportFact[]): void {
    const adds: RollupAdd[] = []
    for (const f of facts) {
      const fresh = this.stmt.fact.run(f.id, f.kind, f.at, f.countsAt, f.callId ?? null, f.agentId ?? null, f.key ?? null, f.seconds ?? null).changes > 0
      if (fresh) adds.push(...rollupsOf(f))
    }
    for (const a of mergeRollups(adds)) {
      if (a.agentId === '') this.stmt.hourly.run(a.bucket, a.metric, a.key, a.n, a.seconds)
      else this.stmt.daily.run(a.bucket, a.agentId, a.metric, a.key, a.n, a.seconds)
    }
  }

  summary (q: SummaryQuery): SummaryRow[] {
    const from = hourKeyOf(q.from)
    const to = hourKeyOf(q.to)
    const hourly = this.stmt.summary.all({ from, to, sl: waitKey(q.serviceLevelSeconds) })
    const apkt = this.stmt.apkt.all(q.from.toISOString(), q.to.toISOString())
    return foldSummary(q.from, q.to, q.interval, hourly, apkt)
  }

  agents (r: ReportRange): AgentReportRow[] {
    const { fromDay, toDay } = dayRange(r.from, r.to)
    return foldAgents(this.stmt.agents.all(fromDay, toDay))
  }
}
