// The busy kinds of a commit (calls, ACW, audit entries, APKT records, report facts) as
// ONE statement: each kind a data-modifying WITH clause over unnest()ed arrays. A
// statement per kind was still seven or eight round trips per outcome (each waiting for
// the event loop between them, under load about a millisecond each); one statement is
// one. PostgreSQL runs every data-modifying WITH clause exactly once and to completion,
// in an order it chooses, so the clauses must not depend on each other's effects: they
// write different tables (and the ACW saves and deletes different agents), nothing
// reads back what the statement writes except through RETURNING (the report facts:
// only the facts not stored before add to the rollups), and the APKT records' agent
// locks are taken by an earlier statement (commit.ts lockAgents).
import type { AcwEntry } from '../../acw/types.ts'
import type { Call } from '../../calls/types.ts'
import type { ReportFact } from '../../reports/fact.ts'
import type { Change } from '../port.ts'
import { rollupsOf } from '../report-rollups.ts'

type AuditChange = Extract<Change, { kind: 'audit' }>
type RecordChange = Extract<Change, { kind: 'apktRecord' }>

export interface BusyChanges {
  /** distinct calls, each as last saved */
  calls: readonly Call[]
  /** distinct agents: their ACW as last saved */
  acwSaved: readonly AcwEntry[]
  /** distinct agents (none among acwSaved): their ACW ended */
  acwEnded: readonly string[]
  /** in the order handed in */
  audits: readonly AuditChange[]
  /** in the order handed in (an agent's delivery order is seq order) */
  records: readonly RecordChange[]
  facts: readonly ReportFact[]
}

/** The statement and its parameters; undefined when there is nothing to write. */
export function busyStatement (b: BusyChanges, now: string): { text: string, values: unknown[] } | undefined {
  const values: unknown[] = []
  const p = (v: unknown, type: string): string => { values.push(v); return `$${values.length}::${type}` }
  const clauses: string[] = []

  if (b.calls.length > 0) {
    // Retention's clock (migration 8): NULL while the call is live, so a purge never takes it.
    const closedAt = (c: Call): string | null => c.state === 'ended' || c.state === 'transferred' ? c.endedAt ?? now : null
    clauses.push(`calls_saved AS (INSERT INTO calls (call_id, state, agent_id, data, updated_at, closed_at)
      SELECT c.call_id, c.state, c.agent_id, c.data::jsonb, ${p(now, 'text')}, c.closed_at
      FROM unnest(${p(b.calls.map(c => c.callId), 'text[]')}, ${p(b.calls.map(c => c.state), 'text[]')}, ${p(b.calls.map(c => c.agentId ?? null), 'text[]')},
        ${p(b.calls.map(c => JSON.stringify(c)), 'text[]')}, ${p(b.calls.map(closedAt), 'text[]')}) AS c (call_id, state, agent_id, data, closed_at)
      ON CONFLICT (call_id) DO UPDATE SET state = excluded.state, agent_id = excluded.agent_id, data = excluded.data,
        updated_at = excluded.updated_at, closed_at = excluded.closed_at)`)
  }
  if (b.acwSaved.length > 0) {
    const e = b.acwSaved
    clauses.push(`acw_saved AS (INSERT INTO acw (agent_id, call_id, started_at, ends_at, state, seconds, interface, pause_reason, updated_at)
      SELECT e.agent_id, e.call_id, e.started_at, e.ends_at, e.state, e.seconds, e.interface, e.pause_reason, ${p(now, 'text')}
      FROM unnest(${p(e.map(x => x.agentId), 'text[]')}, ${p(e.map(x => x.callId ?? null), 'text[]')}, ${p(e.map(x => x.startedAt), 'text[]')}, ${p(e.map(x => x.endsAt ?? null), 'text[]')},
        ${p(e.map(x => x.state), 'text[]')}, ${p(e.map(x => x.seconds), 'integer[]')}, ${p(e.map(x => x.interface ?? null), 'text[]')}, ${p(e.map(x => x.pauseReason ?? null), 'text[]')})
        AS e (agent_id, call_id, started_at, ends_at, state, seconds, interface, pause_reason)
      ON CONFLICT (agent_id) DO UPDATE SET call_id = excluded.call_id, started_at = excluded.started_at, ends_at = excluded.ends_at,
        state = excluded.state, seconds = excluded.seconds, interface = excluded.interface, pause_reason = excluded.pause_reason,
        updated_at = excluded.updated_at)`)
  }
  if (b.acwEnded.length > 0) clauses.push(`acw_ended AS (DELETE FROM acw WHERE agent_id = ANY(${p(b.acwEnded, 'text[]')}))`)
  if (b.audits.length > 0) {
    const a = b.audits
    // The seq each entry gets follows the ordinality: the order handed in.
    clauses.push(`audit_added AS (INSERT INTO audit (at, actor, role, action, target, details)
      SELECT a.at, a.actor, a.role, a.action, a.target, a.details::jsonb
      FROM unnest(${p(a.map(c => c.at), 'text[]')}, ${p(a.map(c => c.entry.actor), 'text[]')}, ${p(a.map(c => c.entry.role), 'text[]')}, ${p(a.map(c => c.entry.action), 'text[]')},
        ${p(a.map(c => c.entry.target), 'text[]')}, ${p(a.map(c => JSON.stringify(c.entry.details ?? {})), 'text[]')}) WITH ORDINALITY AS a (at, actor, role, action, target, details, n)
      ORDER BY a.n)`)
  }
  if (b.records.length > 0) {
    const r = b.records
    clauses.push(`records_added AS (INSERT INTO apkt_records (id, outcome_key, agent_id, call_id, status, attempts, next_attempt_at, created_at, body)
      SELECT r.id, r.outcome_key, r.agent_id, r.call_id, 'pending', 0, r.at, r.at, r.body
      FROM unnest(${p(r.map(c => c.record.id), 'text[]')}, ${p(r.map(c => c.outcomeKey), 'text[]')}, ${p(r.map(c => c.record.agentId), 'text[]')}, ${p(r.map(c => c.record.callId), 'text[]')},
        ${p(r.map(c => c.at), 'text[]')}, ${p(r.map(c => JSON.stringify(c.record)), 'text[]')}) WITH ORDINALITY AS r (id, outcome_key, agent_id, call_id, at, body, n)
      ORDER BY r.n
      ON CONFLICT (outcome_key) DO NOTHING)`)
  }
  if (b.facts.length > 0) clauses.push(...factClauses(b.facts, p))
  if (clauses.length === 0) return undefined
  return { text: `WITH ${clauses.join(',\n')}\nSELECT 1`, values }
}

/**
 * The facts not stored yet (a fact heard twice counts once: its id) and their rollups
 * (src/store/report-rollups.ts): each rollup row carries its fact's id and counts only
 * when that fact was inserted now (RETURNING), summed per rollup key, since one INSERT
 * ... ON CONFLICT may touch a row once only.
 */
function factClauses (all: readonly ReportFact[], p: (v: unknown, type: string) => string): string[] {
  const seen = new Set<string>()
  const facts = all.filter(f => !seen.has(f.id) && seen.add(f.id) !== undefined) // the first of an id, as it would be stored
  const col = <K extends keyof ReportFact>(k: K): Array<ReportFact[K] | null> => facts.map(f => f[k] ?? null)
  const rollups = facts.flatMap(f => rollupsOf(f).map(r => ({ ...r, factId: f.id })))
  const clauses = [`facts_added AS (INSERT INTO report_facts (id, kind, at, counts_at, call_id, agent_id, key, seconds)
      SELECT * FROM unnest(${p(col('id'), 'text[]')}, ${p(col('kind'), 'text[]')}, ${p(col('at'), 'text[]')}, ${p(col('countsAt'), 'text[]')},
        ${p(col('callId'), 'text[]')}, ${p(col('agentId'), 'text[]')}, ${p(col('key'), 'text[]')}, ${p(col('seconds'), 'float8[]')})
      ON CONFLICT (id) DO NOTHING RETURNING id)`]
  if (rollups.length === 0) return clauses
  clauses.push(`rollup_adds AS (SELECT r.bucket, r.agent_id, r.metric, r.key, r.n, r.seconds
      FROM unnest(${p(rollups.map(r => r.factId), 'text[]')}, ${p(rollups.map(r => r.bucket), 'text[]')}, ${p(rollups.map(r => r.agentId), 'text[]')}, ${p(rollups.map(r => r.metric), 'text[]')},
        ${p(rollups.map(r => r.key), 'text[]')}, ${p(rollups.map(r => r.n), 'bigint[]')}, ${p(rollups.map(r => r.seconds), 'float8[]')}) AS r (fact_id, bucket, agent_id, metric, key, n, seconds)
      JOIN facts_added f ON f.id = r.fact_id)`,
  `hourly_added AS (INSERT INTO report_hourly AS h (bucket, metric, key, n, seconds)
      SELECT bucket, metric, key, sum(n), sum(seconds) FROM rollup_adds WHERE agent_id = '' GROUP BY bucket, metric, key
      ON CONFLICT (bucket, metric, key) DO UPDATE SET n = h.n + excluded.n, seconds = h.seconds + excluded.seconds)`,
  `daily_added AS (INSERT INTO report_agent_daily AS d (day, agent_id, metric, key, n, seconds)
      SELECT bucket, agent_id, metric, key, sum(n), sum(seconds) FROM rollup_adds WHERE agent_id <> '' GROUP BY bucket, agent_id, metric, key
      ON CONFLICT (day, agent_id, metric, key) DO UPDATE SET n = d.n + excluded.n, seconds = d.seconds + excluded.seconds)`)
  return clauses
}
