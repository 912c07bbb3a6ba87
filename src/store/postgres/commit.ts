// A batch of Changes as SQL, inside the caller's transaction: the rare kinds in the order given, the busy ones in one statement (batch-statement.ts).
import type { AcwEntry } from '../../acw/types.ts'
import type { Change } from '../port.ts'
import type { PgClient } from './pool.ts'
import { sessionValues } from '../rows.ts'
import type { ReportFact } from '../../reports/fact.ts'
import { lastCallSaves } from '../superseded.ts'
import { busyStatement, type BusyChanges } from './batch-statement.ts'

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

/** The busy kinds of `changes` (batch-statement.ts): only the order within a kind matters, and is kept. */
function busyOf (changes: readonly Change[]): BusyChanges {
  const facts: ReportFact[] = []
  const acw = new Map<string, AcwEntry | null>() // by agent, the last change: an entry, or null once ended
  const audits: Array<Extract<Change, { kind: 'audit' }>> = []
  const records: Array<Extract<Change, { kind: 'apktRecord' }>> = []
  for (const c of changes) {
    switch (c.kind) {
      case 'reportFact': facts.push(c.fact); break
      case 'acw': acw.delete(c.entry.agentId); acw.set(c.entry.agentId, c.entry); break
      case 'acwEnded': acw.delete(c.agentId); acw.set(c.agentId, null); break
      case 'audit': audits.push(c); break
      case 'apktRecord': records.push(c); break
    }
  }
  return {
    calls: lastCallSaves(changes).map(c => c.call),
    acwSaved: [...acw.values()].filter((e): e is AcwEntry => e !== null),
    acwEnded: [...acw].filter(([, e]) => e === null).map(([agentId]) => agentId),
    audits,
    records,
    facts
  }
}

/** Changes the one statement takes (batch-statement.ts): all but the rare kinds. */
const BUSY = new Set<Change['kind']>(['call', 'acw', 'acwEnded', 'audit', 'reportFact', 'apktRecord'])

/**
 * The whole of `changes` as one statement, when that is all they need; else undefined.
 * Most commits are such (a call's state, an ACW, the press's "transferring", an outcome
 * and its record): sent with no BEGIN and COMMIT around it, one round trip where the
 * transaction took four (CommitQueue). Not with a rare kind (a statement each), and not
 * with an APKT record unless this process is the database's `soleWriter` (outside an HA
 * group): the agent locks (lockAgents) keep two writers' records of one agent in seq
 * order, and must be taken before the insert; one writer commits one transaction at a
 * time (CommitQueue), so its seq order is its commit order anyway.
 */
export function singleStatement (changes: readonly Change[], soleWriter: boolean): { text: string, values: unknown[] } | undefined {
  if (!changes.every(c => BUSY.has(c.kind) && (soleWriter || c.kind !== 'apktRecord'))) return undefined
  return busyStatement(busyOf(changes), new Date().toISOString())
}

/**
 * Writes `changes` inside the caller's transaction. The busy kinds (calls, ACW, audit
 * entries, APKT records, report facts) go in one statement at the end
 * (batch-statement.ts): a round trip per change made a group commit of a burst (200
 * presses: 400 changes) wait on the loopback 400 times. The rare kinds (agents, tokens,
 * sessions) run one by one, in order, before it. The agents' outbox locks are already
 * held (lockAgents).
 */
export async function applyChanges (client: PgClient, changes: readonly Change[]): Promise<void> {
  for (const c of changes) {
    switch (c.kind) {
      case 'reportFact': case 'call': case 'acw': case 'acwEnded': case 'audit': case 'apktRecord': break // busyOf
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
  const statement = busyStatement(busyOf(changes), new Date().toISOString())
  if (statement !== undefined) await client.query(statement.text, statement.values)
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
