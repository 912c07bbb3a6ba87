// A batch of Changes as SQL, inside the caller's transaction, in the order given.
import type { AcwEntry } from '../../acw/types.ts'
import type { Call } from '../../calls/types.ts'
import type { Change } from '../port.ts'
import type { PgClient } from './pool.ts'
import { sessionValues } from '../rows.ts'
import type { ReportFact } from '../../reports/fact.ts'
import { mergeRollups, rollupsOf } from '../report-rollups.ts'
import { lastCallSaves } from '../superseded.ts'

// Two-key advisory locks (never colliding with the single-key migration lock): the
// first key says what is locked, the second is the agent's hash.
const AGENT_OUTBOX_LOCK = 0x61706b74 // "apkt"

export function checkChanges (changes: readonly Change[]): void {
  // As the SQLite outbox: refused before anything of the batch is written.
  for (const c of changes) if (c.kind === 'apktRecord' && c.outcomeKey === '') throw new TypeError('outcomeKey must not be empty')
}

/**
 * Takes, for the rest of the transaction, the outbox lock of every agent that `changes`
 * add APKT records for. Per-agent delivery order is seq order, and a seq is drawn at
 * insert, not at commit: two transactions (two instances of an HA group) adding records
 * for one agent could commit in the other order, and a claimer between the two commits
 * would take the later record first. So records of one agent are added one transaction
 * at a time. All at the start and in one order (by hash), so that two transactions
 * needing the same agents never wait on each other crosswise (a deadlock).
 */
export async function lockAgents (client: PgClient, changes: readonly Change[]): Promise<void> {
  const agents = [...new Set(changes.flatMap(c => c.kind === 'apktRecord' ? [c.record.agentId] : []))]
  if (agents.length === 0) return
  await client.query(`SELECT pg_advisory_xact_lock($1, h) FROM (
    SELECT DISTINCT hashtext(a) AS h FROM unnest($2::text[]) AS a ORDER BY h) AS s`, [AGENT_OUTBOX_LOCK, agents])
}

/**
 * The batch's changes of the busy kinds (calls, ACW, audit entries, APKT records, report
 * facts) go in one statement per kind, at the end: a round trip per change made a group
 * commit of a burst (200 presses: 400 changes) wait on the loopback 400 times. Tables do
 * not refer to each other and nothing in a commit reads what it writes, so only the order
 * within a kind matters, and that is kept: a call's or an agent's ACW last change wins,
 * audit entries and APKT records get their seq in the order handed in. The rare kinds
 * (agents, tokens, sessions) run one by one, in order.
 */
export async function applyChanges (client: PgClient, changes: readonly Change[]): Promise<void> {
  const facts: ReportFact[] = []
  const acw = new Map<string, AcwEntry | null>() // by agent, the last change: an entry, or null once ended
  const audits: Array<Extract<Change, { kind: 'audit' }>> = []
  const records: Array<Extract<Change, { kind: 'apktRecord' }>> = []
  for (const c of changes) {
    switch (c.kind) {
      case 'reportFact': facts.push(c.fact); break
      case 'call': break // lastCallSaves below
      case 'acw': acw.delete(c.entry.agentId); acw.set(c.entry.agentId, c.entry); break
      case 'acwEnded': acw.delete(c.agentId); acw.set(c.agentId, null); break
      case 'audit': audits.push(c); break
      case 'apktRecord': records.push(c); break // the agent's outbox lock is already held (lockAgents)
      case 'agentSession':
        await client.query(`INSERT INTO agent_sessions (agent_id, interface, queues, since, pause_reason, paused_since, next, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
          ON CONFLICT (agent_id) DO UPDATE SET interface = excluded.interface, queues = excluded.queues, since = excluded.since, pause_reason = excluded.pause_reason,
            paused_since = excluded.paused_since, next = excluded.next, updated_at = excluded.updated_at`, sessionValues(c.session, new Date().toISOString()))
        break
      case 'agentSessionEnded': await client.query('DELETE FROM agent_sessions WHERE agent_id = $1', [c.agentId]); break
      case 'agent':
        await client.query(`INSERT INTO agents (agent_id, data, from_config, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
          ON CONFLICT (agent_id) DO UPDATE SET data = excluded.data, from_config = excluded.from_config, updated_at = excluded.updated_at`, [c.agent.id, JSON.stringify(c.agent), c.fromConfig === true, c.at])
        await bumpAgentsVersion(client, c.at)
        break
      case 'agentRemoved':
        await client.query('DELETE FROM agents WHERE agent_id = $1', [c.agentId])
        await client.query('UPDATE agent_tokens SET revoked_at = $1 WHERE agent_id = $2 AND revoked_at IS NULL', [c.at, c.agentId])
        await bumpAgentsVersion(client, c.at)
        break
      case 'agentToken':
        await client.query('INSERT INTO agent_tokens (digest, agent_id, name, created_at) VALUES ($1, $2, $3, $4)', [c.token.digest, c.token.agentId, c.token.name, c.at])
        await bumpAgentsVersion(client, c.at)
        break
      case 'agentTokensRevoked':
        await client.query('UPDATE agent_tokens SET revoked_at = $1 WHERE agent_id = $2 AND revoked_at IS NULL AND digest IS DISTINCT FROM $3', [c.at, c.agentId, c.except ?? null])
        await bumpAgentsVersion(client, c.at)
        break
      default: {
        const never: never = c
        throw new TypeError(`unknown change ${JSON.stringify(never)}`)
      }
    }
  }
  await saveCalls(client, lastCallSaves(changes).map(c => c.call))
  await saveAcw(client, [...acw.values()].filter((e): e is AcwEntry => e !== null))
  const ended = [...acw].filter(([, e]) => e === null).map(([agentId]) => agentId)
  if (ended.length > 0) await client.query('DELETE FROM acw WHERE agent_id = ANY($1::text[])', [ended])
  await addAudit(client, audits)
  await addRecords(client, records)
  if (facts.length > 0) await recordFacts(client, facts)
}

/** Entries in the order handed in: the seq each gets follows the ordinality. */
async function addAudit (client: PgClient, entries: ReadonlyArray<Extract<Change, { kind: 'audit' }>>): Promise<void> {
  if (entries.length === 0) return
  await client.query(`INSERT INTO audit (at, actor, role, action, target, details)
    SELECT a.at, a.actor, a.role, a.action, a.target, a.details::jsonb
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS a (at, actor, role, action, target, details, n)
    ORDER BY a.n`,
  [entries.map(c => c.at), entries.map(c => c.entry.actor), entries.map(c => c.entry.role), entries.map(c => c.entry.action), entries.map(c => c.entry.target),
    entries.map(c => JSON.stringify(c.entry.details ?? {}))])
}

/** Records in the order handed in (an agent's delivery order is seq order); one per outcome key. */
async function addRecords (client: PgClient, records: ReadonlyArray<Extract<Change, { kind: 'apktRecord' }>>): Promise<void> {
  if (records.length === 0) return
  await client.query(`INSERT INTO apkt_records (id, outcome_key, agent_id, call_id, status, attempts, next_attempt_at, created_at, body)
    SELECT r.id, r.outcome_key, r.agent_id, r.call_id, 'pending', 0, r.at, r.at, r.body
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS r (id, outcome_key, agent_id, call_id, at, body, n)
    ORDER BY r.n
    ON CONFLICT (outcome_key) DO NOTHING`,
  [records.map(c => c.record.id), records.map(c => c.outcomeKey), records.map(c => c.record.agentId), records.map(c => c.record.callId), records.map(c => c.at),
    records.map(c => JSON.stringify(c.record))])
}

/** Keeps the facts not stored yet and adds those to the rollups (src/store/report-rollups.ts). */
async function recordFacts (client: PgClient, facts: readonly ReportFact[]): Promise<void> {
  const col = <K extends keyof ReportFact>(k: K): Array<ReportFact[K] | null> => facts.map(f => f[k] ?? null)
  const fresh = new Set((await client.query<{ id: string }>(`INSERT INTO report_facts (id, kind, at, counts_at, call_id, agent_id, key, seconds)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::float8[])
    ON CONFLICT (id) DO NOTHING RETURNING id`,
  [col('id'), col('kind'), col('at'), col('countsAt'), col('callId'), col('agentId'), col('key'), col('seconds')])).rows.map(r => r.id))
  const adds = mergeRollups(facts.filter(f => fresh.delete(f.id)).flatMap(rollupsOf))
  const center = adds.filter(a => a.agentId === '')
  const agents = adds.filter(a => a.agentId !== '')
  if (center.length > 0) {
    await client.query(`INSERT INTO report_hourly AS r (bucket, metric, key, n, seconds)
      SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::float8[])
      ON CONFLICT (bucket, metric, key) DO UPDATE SET n = r.n + excluded.n, seconds = r.seconds + excluded.seconds`,
    [center.map(a => a.bucket), center.map(a => a.metric), center.map(a => a.key), center.map(a => a.n), center.map(a => a.seconds)])
  }
  if (agents.length > 0) {
    await client.query(`INSERT INTO report_agent_daily AS r (day, agent_id, metric, key, n, seconds)
      SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::float8[])
      ON CONFLICT (day, agent_id, metric, key) DO UPDATE SET n = r.n + excluded.n, seconds = r.seconds + excluded.seconds`,
    [agents.map(a => a.bucket), agents.map(a => a.agentId), agents.map(a => a.metric), agents.map(a => a.key), agents.map(a => a.n), agents.map(a => a.seconds)])
  }
}

/**
 * The agents version another instance polls (agents.version()). The row is locked until
 * the transaction ends, so two instances changing agents at once bump it one after the other.
 */
async function bumpAgentsVersion (client: PgClient, at: string): Promise<void> {
  await client.query(`INSERT INTO service_meta (key, value, updated_at) VALUES ('agents_version', '1', $1)
    ON CONFLICT (key) DO UPDATE SET value = (service_meta.value::bigint + 1)::text, updated_at = excluded.updated_at`, [at])
  // Delivered at COMMIT only: the other instances re-read at once (src/store/postgres/notify.ts).
  await client.query(`SELECT pg_notify('${AGENTS_CHANNEL}', '')`)
}

/** The NOTIFY channel of agent and token changes. */
export const AGENTS_CHANNEL = 'pln123_agents'

/**
 * The calls of a batch in one statement: a round trip per save made a busy AMI stream's
 * groups wait on the loopback once per event. The calls are distinct (lastCallSaves),
 * as one INSERT ... ON CONFLICT may touch each row once only.
 */
async function saveCalls (client: PgClient, calls: readonly Call[]): Promise<void> {
  if (calls.length === 0) return
  const now = new Date().toISOString()
  // Retention's clock (migration 8): NULL while the call is live, so a purge never takes it.
  const closedAt = (call: Call): string | null => call.state === 'ended' || call.state === 'transferred' ? call.endedAt ?? now : null
  await client.query(`INSERT INTO calls (call_id, state, agent_id, data, updated_at, closed_at)
    SELECT c.call_id, c.state, c.agent_id, c.data::jsonb, $5::text, c.closed_at FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $6::text[]) AS c (call_id, state, agent_id, data, closed_at)
    ON CONFLICT (call_id) DO UPDATE SET state = excluded.state, agent_id = excluded.agent_id, data = excluded.data,
      updated_at = excluded.updated_at, closed_at = excluded.closed_at`,
  [calls.map(c => c.callId), calls.map(c => c.state), calls.map(c => c.agentId ?? null), calls.map(c => JSON.stringify(c)), now, calls.map(closedAt)])
}

/** ACW entries of distinct agents, in one statement. */
async function saveAcw (client: PgClient, entries: readonly AcwEntry[]): Promise<void> {
  if (entries.length === 0) return
  await client.query(`INSERT INTO acw (agent_id, call_id, started_at, ends_at, state, seconds, interface, pause_reason, updated_at)
    SELECT e.agent_id, e.call_id, e.started_at, e.ends_at, e.state, e.seconds, e.interface, e.pause_reason, $9::text
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::integer[], $7::text[], $8::text[]) AS e (agent_id, call_id, started_at, ends_at, state, seconds, interface, pause_reason)
    ON CONFLICT (agent_id) DO UPDATE SET call_id = excluded.call_id, started_at = excluded.started_at, ends_at = excluded.ends_at,
      state = excluded.state, seconds = excluded.seconds, interface = excluded.interface, pause_reason = excluded.pause_reason,
      updated_at = excluded.updated_at`,
  [entries.map(e => e.agentId), entries.map(e => e.callId ?? null), entries.map(e => e.startedAt), entries.map(e => e.endsAt ?? null), entries.map(e => e.state),
    entries.map(e => e.seconds), entries.map(e => e.interface ?? null), entries.map(e => e.pauseReason ?? null), new Date().toISOString()])
}
