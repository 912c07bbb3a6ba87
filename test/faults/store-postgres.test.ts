// Faults of a real PostgreSQL under the service, with real calls on the real Asterisk
// sandbox (the service in-process, test/pbx/harness.ts: its AMI actions are recorded in
// Stack.sent). Each fault is made to the server itself by test/helpers/postgres.ts:
//
// - restarted: pg_ctl stop -m immediate (a crash), then started on the same port;
// - a connection killed: pg_terminate_backend on the service's connections mid-traffic;
// - frozen: SIGSTOP on the postmaster and its backends, longer than every timeout;
// - new connections refused (CONNECTION LIMIT 0) while the pool's are terminated.
//
// Meanwhile: the button answers 503 STORE_UNAVAILABLE and no BlindTransfer leaves, /readyz
// names the store, nothing hangs (a frozen server is met by the pool's timeouts; the
// AMI event path keeps running on memory). Once the database is back: what happened
// meanwhile is written (the call that ended, its APKT record), ACW is enforced and ends,
// and the button works again. What is checked in the database is read by the test's own
// superuser connection, not through the service.
import t, { type Test } from 'tap'
import pg from 'pg'
import { TOKENS } from '../helpers/config.ts'
import { eventually, waitFor } from '../helpers/ami.ts'
import { needPostgres, type PgCluster } from '../helpers/postgres.ts'
import type { AmiClient } from '../../src/ami/index.ts'
import { startStack, type Stack } from '../pbx/harness.ts'

t.setTimeout(600_000) // four faults, each with real calls, a restart or a freeze and an ACW

/** A bound that only detects a hang: a request must settle, how fast is not asserted. */
const HANG_MS = 30_000

interface Setup {
  s: Stack
  cluster: PgCluster
  db: { name: string }
  sql: <R extends pg.QueryResultRow>(text: string, params?: unknown[]) => Promise<R[]>
  /** commits of the service's journal that the database failed as "unavailable" (the fault met a transaction) */
  unavailableCommits: string[]
  /**
   * Kills the service's connections while one of its commits is in flight, for sure: a
   * lock on the calls table (taken by a connection of the test) makes the next commit
   * wait on the server, and the kill comes while it waits. A kill at a moment of the
   * test's choosing found none in flight once a commit became one round trip.
   * `locked` is called once the lock is held: traffic that waits for it cannot run out
   * before the lock is taken (a CI run saw the last request answered before the LOCK).
   */
  killDuringCommit: (locked: () => void) => Promise<number>
}

async function setup (t: Test, acwSeconds: number): Promise<Setup | undefined> {
  const cluster = await needPostgres(t)
  if (cluster === undefined) return undefined
  const db = await cluster.createDatabase()
  t.teardown(async () => { await cluster.connectionLimit(db.name, -1).catch(() => {}); await db.drop().catch(() => {}) })
  const s = await startStack(t, raw => { raw.acw = { seconds: acwSeconds, mode: 'fixed' } }, { CTI_STORE_KIND: 'postgres', CTI_STORE_URL: db.url })
  // The superuser, on the service's database: not limited by CONNECTION LIMIT, and a new
  // connection per query so no fault of the test's own making breaks it.
  const url = new URL(cluster.adminUrl)
  url.pathname = `/${db.name}`
  const sql = async <R extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<R[]> => {
    const c = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 10_000 })
    c.on('error', () => {})
    await c.connect()
    try { return (await c.query<R>(text, params)).rows } finally { await c.end().catch(() => {}) }
  }
  // Watched, not replaced: the journal calls store.commit at each attempt, so this sees
  // which attempts the real database failed (as Stack.sent sees the AMI actions).
  const unavailableCommits: string[] = []
  const store = s.svc.store
  const commit = store.commit.bind(store)
  store.commit = async changes => {
    try { await commit(changes) } catch (err) {
      if (store.isUnavailable(err)) unavailableCommits.push(`${(err as { code?: string }).code ?? ''} ${(err as Error).message}`)
      throw err
    }
  }
  const killDuringCommit = async (locked: () => void): Promise<number> => {
    const blocker = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 10_000 })
    blocker.on('error', () => {}) // killed with the service's connections: that ends its lock
    await blocker.connect()
    try {
      const pid = (await blocker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid
      await blocker.query('BEGIN')
      await blocker.query('LOCK TABLE calls IN SHARE ROW EXCLUSIVE MODE') // writers wait, readers do not
      locked()
      await eventually('a commit of the service waiting on the lock', async () => ((await sql<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' AND pid <> $2", [db.name, pid]))[0]?.n ?? 0) > 0)
      return await cluster.terminateConnections(db.name) - 1 // not counting the blocker
    } finally {
      await blocker.end().catch(() => {})
    }
  }
  return { s, cluster, db, sql, unavailableCommits, killDuringCommit }
}

/** Resolves with p's value, or fails the test's step when p does not settle within HANG_MS. */
async function settles<T> (what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([p, new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`${what} did not settle within ${HANG_MS} ms: it hangs`)) }, HANG_MS) })])
  } finally {
    clearTimeout(timer)
  }
}

async function memberPause (admin: AmiClient, agentId: string): Promise<{ paused: boolean, reason: string }> {
  const q = await admin.list('QueueStatus', { Queue: 'pln123' })
  const m = q.items.find(i => i.event === 'QueueMember' && i.fields.location === `Local/${agentId}@agents/n`)
  return { paused: m?.fields.paused === '1', reason: m?.fields.pausedreason ?? '' }
}

/** A connected call with a transfer topic and the customer's consent: ready for the button. */
async function readyToTransfer (t: Test, s: Stack, num: string): Promise<{ callId: string, agentId: string, token: string }> {
  const c = await s.call(num)
  t.equal((await s.http('POST', `/v1/calls/${c.callId}/inquiry`, c.token, { topic: 'activation', customer: { name: 'Budi', salutation: 'Bapak' } })).status, 200, `${num}: inquiry recorded`)
  t.equal((await s.http('POST', `/v1/calls/${c.callId}/consent`, c.token, { accepted: true })).status, 200, `${num}: consent recorded`)
  return c
}

const press = async (s: Stack, c: { callId: string, token: string }): Promise<{ status: number, body: any }> =>
  await settles('the transfer press', s.http('POST', `/v1/calls/${c.callId}/direct-transfer`, c.token, { target: 3 }))

const blindTransfers = (s: Stack, callId?: string): number =>
  s.sent.filter(a => a.name === 'BlindTransfer' && (callId === undefined || a.fields.Channel === s.svc.tracker.get(callId)?.agentChannel)).length

async function notReadyForStore (t: Test, s: Stack): Promise<void> {
  const r = await eventually('/readyz 503', async () => {
    const got = await settles('/readyz', s.http('GET', '/readyz', TOKENS.supervisor))
    return got.status === 503 ? got : undefined
  }, HANG_MS)
  t.equal(r.body.message, 'not ready: store', '/readyz names the store')
  t.same(r.body.checks, { ami: { ok: true }, store: { ok: false } }, 'AMI stays ready, the store does not')
}

async function readyAgain (s: Stack): Promise<void> {
  await eventually('/readyz 200', async () => (await settles('/readyz', s.http('GET', '/readyz', TOKENS.supervisor))).status === 200, 60_000)
}

/** After recovery: the call is transferred by the button and lands at ICONNET. */
async function transfersNow (t: Test, s: Stack, c: { callId: string, token: string }, what: string): Promise<void> {
  const r = await press(s, c)
  t.equal(r.status, 200, `${what}: transferred after recovery ${JSON.stringify(r.body)}`)
  const arrived = await waitFor(`${what} at ICONNET`, () => s.pbxEvents.find(e => e.event === 'UserEvent' && e.fields.userevent === 'IconnetArrived' && e.fields.linkedid === c.callId), 15_000)
  t.ok(arrived, `${what}: the customer reached ICONNET`)
}

t.test('postgres: restarted (stop -m immediate, start) under a live call: 503 meanwhile, the ended call and its ACW recorded and enforced after', async t => {
  // ACW longer than the outage (crash, restart, the journal's next retry): it is still
  // running when the database is back, so its pause is seen to be applied, then lifted.
  const ACW_SECONDS = 15
  const got = await setup(t, ACW_SECONDS)
  if (got === undefined) return
  const { s, cluster, sql } = got
  const a = await readyToTransfer(t, s, '0811980001')
  const b = await s.call('0811980002')
  t.not(b.agentId, a.agentId, 'B is with the other agent')
  t.equal((await s.http('POST', `/v1/calls/${b.callId}/inquiry`, b.token, { topic: 'coverage', customer: { name: 'Sari', salutation: 'Ibu' }, area: 'Koja' })).status, 200, 'B: an educated inquiry (APKT record when it ends)')

  await cluster.stop('immediate')
  const r = await press(s, a)
  t.equal(r.status, 503, `the press during the outage: 503 ${JSON.stringify(r.body)}`)
  t.equal(r.body.error, 'STORE_UNAVAILABLE')
  t.equal(blindTransfers(s), 0, 'no BlindTransfer was sent to Asterisk')
  t.equal(s.svc.tracker.get(a.callId)?.state, 'connected', 'A is still with its agent: nothing half done')
  await notReadyForStore(t, s)
  const consent = await settles('consent', s.http('POST', `/v1/calls/${a.callId}/consent`, a.token, { accepted: true }))
  t.equal(consent.status, 503, 'consent: 503 while the store is away')
  t.equal(consent.body.error, 'STORE_UNAVAILABLE')
  // B's customer hangs up while the database is down: the call ends in memory at once.
  await s.admin.action('Hangup', { Channel: s.svc.tracker.get(b.callId)?.customerChannel ?? '' })
  await waitFor('B ended in memory', () => s.svc.tracker.get(b.callId)?.state === 'ended' ? true : undefined)
  const hungUpAt = Date.now()

  await cluster.start()
  await readyAgain(s)
  // A precondition of this scenario, not a speed claim: the ACW that ran out during the
  // outage is the last test of this file.
  t.ok(Date.now() - hungUpAt < ACW_SECONDS * 1000, 'the database was back before B\'s ACW was over (the pause can be seen applied)')

  // Written once the database is back: B ended, with its APKT record in the outbox; A as it is.
  const bRow = await eventually('B ended in the database', async () => (await sql<{ state: string }>('SELECT state FROM calls WHERE call_id = $1', [b.callId]))[0]?.state === 'ended' ? true : undefined, 15_000)
  t.ok(bRow, 'B: ended in the store')
  const records = await sql<{ status: string, agent_id: string }>('SELECT status, agent_id FROM apkt_records WHERE call_id = $1', [b.callId])
  t.equal(records.length, 1, 'B: one APKT record in the outbox')
  t.equal(records[0]?.agent_id, b.agentId)
  const aRow = await sql<{ state: string, data: { transfer?: { status: string } } }>('SELECT state, data FROM calls WHERE call_id = $1', [a.callId])
  t.equal(aRow[0]?.state, 'connected', 'A: connected in the store (the refused press left no "transferring")')

  // B's agent: ACW enforced (paused for ACW on the PBX, its row in the store), then over.
  await eventually('B\'s agent paused for ACW', async () => (await memberPause(s.admin, b.agentId)).reason === 'ACW' ? true : undefined, 15_000)
  t.equal((await s.http('GET', `/v1/agents/${b.agentId}`, TOKENS.supervisor)).body.state, 'acw', 'B\'s agent is in ACW')
  t.equal((await sql('SELECT 1 FROM acw WHERE agent_id = $1', [b.agentId])).length, 1, 'B\'s agent\'s ACW is in the store')
  await eventually('B\'s agent unpaused at the deadline', async () => !(await memberPause(s.admin, b.agentId)).paused ? true : undefined, (ACW_SECONDS + 15) * 1000)
  t.ok(Date.now() >= hungUpAt + ACW_SECONDS * 1000 - 1000, 'not before the deadline')
  await eventually('B\'s ACW row gone', async () => (await sql('SELECT 1 FROM acw WHERE agent_id = $1', [b.agentId])).length === 0 ? true : undefined)
  t.equal((await s.http('GET', `/v1/agents/${b.agentId}`, TOKENS.supervisor)).body.state, 'ready', 'B\'s agent ready again')

  // The button works again: on A, and on a new call (to B's agent, free again).
  await transfersNow(t, s, a, 'A')
  const c = await readyToTransfer(t, s, '0811980003')
  await transfersNow(t, s, c, 'C, a new call')
  t.equal(blindTransfers(s), 2, 'two BlindTransfers in the whole run, both after recovery')
  t.equal((await sql<{ state: string }>('SELECT state FROM calls WHERE call_id = $1', [c.callId]))[0]?.state, 'transferred', 'C: transferred in the store')
})

t.test('postgres: connections killed mid-traffic: nothing acknowledged is lost, requests succeed', async t => {
  const got = await setup(t, 1)
  if (got === undefined) return
  const { s, cluster, db, sql, unavailableCommits, killDuringCommit } = got
  const a = await readyToTransfer(t, s, '0811980101')
  const c = await s.call('0811980102')
  const auditBefore = (await sql<{ n: number }>('SELECT count(*)::int AS n FROM audit WHERE action = \'call.consent\' AND target = $1', [a.callId]))[0]?.n ?? 0

  // Traffic: three clients at once (a softphone's consents, the dialplan's CTI events),
  // each request retried on 503 after a moment (what the API asks of a client), so
  // commits are in flight when the service's connections are killed, three times over.
  // The real call C's customer hangs up at the first kill: an AMI event in the middle.
  const PER_CLIENT = 20
  const KILLS_AT = [10, 25, 40]
  let done = 0
  let unavailable = 0
  let consents503 = 0
  let consentsAcked = 0
  const other: string[] = []
  const ctiAcked: string[] = []
  const kills: Array<Promise<number>> = []
  // Held from the first kill until its lock is taken: the next requests meet the lock.
  let lockTaken: Promise<void> = Promise.resolve()
  const afterEach = (): void => {
    done++
    // Three kills; more while none has met a commit in flight (a kill between two commits
    // only drops idle connections, which the pool replaces without anyone noticing).
    const more = done > (KILLS_AT.at(-1) ?? 0) && done % 4 === 0 && unavailableCommits.length === 0
    if (!KILLS_AT.includes(done) && !more) return
    // The first kill meets a commit in flight for sure; the others at whatever moment comes.
    if (done === KILLS_AT[0]) {
      let locked = (): void => {}
      lockTaken = new Promise(resolve => { locked = resolve })
      const kill = killDuringCommit(locked)
      kill.finally(locked).catch(() => {}) // a failed kill must not hold the traffic: the test fails on `kills`
      kills.push(kill)
      void s.admin.action('Hangup', { Channel: s.svc.tracker.get(c.callId)?.customerChannel ?? '' })
    } else {
      kills.push(cluster.terminateConnections(db.name))
    }
  }
  const client = async (k: number): Promise<void> => {
    for (let i = 0; i < PER_CLIENT; i++) {
      const isConsent = k === 0
      const callId = `kill-${k}-${i}`
      for (let attempt = 0; ; attempt++) {
        await lockTaken
        const r = isConsent
          ? await settles('consent', s.http('POST', `/v1/calls/${a.callId}/consent`, a.token, { accepted: true }))
          : await settles('CTI event', s.http('POST', '/v1/cti/events', TOKENS.pbx, { type: 'call.offered', callId, data: { callerIdNum: `0811981${k}${String(i).padStart(2, '0')}` } }))
        if (r.status === 200 || r.status === 202) {
          if (isConsent) consentsAcked++; else ctiAcked.push(callId)
          break
        }
        if (r.status === 503 && r.body.error === 'STORE_UNAVAILABLE' && attempt < 40) {
          unavailable++
          if (isConsent) consents503++
          await new Promise(resolve => setTimeout(resolve, 250))
          continue
        }
        other.push(`${callId}: ${r.status} ${JSON.stringify(r.body)}`)
        break
      }
      afterEach()
    }
  }
  await Promise.all([0, 1, 2].map(client))
  const killed = await Promise.all(kills)
  t.ok(killed.length >= KILLS_AT.length, `${killed.length} kills during the traffic`)
  // A kill can find the pool between connections (the last one just killed): counted together.
  t.ok(killed.reduce((x, y) => x + y, 0) >= 1, `the service's connections were killed (${killed.join(', ')})`)
  t.same(other, [], 'no answer other than success or 503 STORE_UNAVAILABLE')
  t.equal(ctiAcked.length + consentsAcked, 3 * PER_CLIENT, 'every request succeeded, at the latest when tried again')
  t.ok(unavailableCommits.length >= 1, `a kill met a commit in flight: ${unavailableCommits.length} attempt(s) failed as unavailable (${[...new Set(unavailableCommits)].join(' | ')})`)
  t.comment(`503 STORE_UNAVAILABLE answers around the kills: ${unavailable}`)
  await readyAgain(s)

  // Nothing acknowledged is lost.
  const rows = await sql<{ call_id: string }>('SELECT call_id FROM calls WHERE call_id = ANY($1)', [ctiAcked])
  t.same(rows.map(r => r.call_id).sort(), [...ctiAcked].sort(), `every acknowledged CTI event's call is in the store (${ctiAcked.length})`)
  const audited = ((await sql<{ n: number }>('SELECT count(*)::int AS n FROM audit WHERE action = \'call.consent\' AND target = $1', [a.callId]))[0]?.n ?? 0) - auditBefore
  t.ok(audited >= consentsAcked && audited <= consentsAcked + consents503, `every acknowledged consent is audited (${audited} rows for ${consentsAcked} acknowledged, ${consents503} refused)`)
  await eventually('C ended in the store', async () => (await sql<{ state: string }>('SELECT state FROM calls WHERE call_id = $1', [c.callId]))[0]?.state === 'ended' ? true : undefined)
  t.pass('C, whose customer hung up at the first kill, is ended in the store')
  await transfersNow(t, s, a, 'A')
})

t.test('postgres: frozen server longer than the timeouts: the press settles with 503, AMI events keep flowing, everything written after the thaw', async t => {
  const got = await setup(t, 1)
  if (got === undefined) return
  const { s, cluster, sql } = got
  const a = await readyToTransfer(t, s, '0811980201')

  cluster.freeze()
  t.teardown(() => { cluster.thaw() })
  const frozenAt = Date.now()
  const r = await press(s, a)
  t.equal(r.status, 503, `the press against a frozen database settles: 503 ${JSON.stringify(r.body)}`)
  t.equal(r.body.error, 'STORE_UNAVAILABLE')
  t.equal(blindTransfers(s), 0, 'no BlindTransfer was sent to Asterisk')
  t.equal(s.svc.tracker.get(a.callId)?.state, 'connected', 'A is still with its agent')
  const cti = await settles('CTI event', s.http('POST', '/v1/cti/events', TOKENS.pbx, { type: 'call.offered', callId: 'frozen-1', data: { callerIdNum: '0811980299' } }))
  t.equal(cti.status, 503, `a CTI event settles too: ${cti.status} ${JSON.stringify(cti.body)}`)
  t.equal(cti.body.error, 'STORE_UNAVAILABLE')

  // The AMI event path runs on memory: a new call is seen, connected to the other agent.
  const c = await s.call('0811980202')
  t.not(c.agentId, a.agentId, 'the new call, seen while the database is frozen, is with the other agent')
  const read = await settles('a read of the live picture', s.http('GET', `/v1/calls/${c.callId}`, TOKENS.supervisor))
  t.equal(read.status, 200, 'the live picture answers from memory')
  t.equal(read.body.state, 'connected')
  await notReadyForStore(t, s)

  // Frozen well past every timeout of the pool (statement 5 s + 1 s, connect 5 s).
  const FROZEN_MS = 15_000
  const left = frozenAt + FROZEN_MS - Date.now()
  if (left > 0) await new Promise(resolve => setTimeout(resolve, left))
  t.equal(s.svc.ami.ready, true, 'AMI still logged in')
  cluster.thaw()
  await readyAgain(s)

  // Everything written after the thaw: the new call with its agent, A as it is.
  const cRow = await eventually('C in the store', async () => (await sql<{ state: string, agent_id: string }>('SELECT state, agent_id FROM calls WHERE call_id = $1', [c.callId]))[0], 15_000)
  t.equal(cRow.state, 'connected', 'C, which began while the database was frozen, is in the store')
  t.equal(cRow.agent_id, c.agentId)
  // What timed out meanwhile was kept, in order, not dropped: the refused press (written
  // as "transferring", then back to the agent with the press failed) and the CTI event.
  const aRow = await sql<{ state: string, data: { transfer?: { status: string } } }>('SELECT state, data FROM calls WHERE call_id = $1', [a.callId])
  t.equal(aRow[0]?.state, 'connected', 'A: connected in the store')
  t.equal(aRow[0]?.data.transfer?.status, 'failed', 'A: the press that timed out is recorded as failed (no transfer)')
  t.equal((await sql('SELECT 1 FROM calls WHERE call_id = $1', ['frozen-1'])).length, 1, 'the CTI event answered 503 after its timeout was still written once the database thawed')
  await transfersNow(t, s, a, 'A')
  await s.admin.action('Hangup', { Channel: s.svc.tracker.get(c.callId)?.customerChannel ?? '' })
})

t.test('postgres: new connections refused (CONNECTION LIMIT 0) and the pool\'s connections terminated: 503 meanwhile, recovery once lifted', async t => {
  const got = await setup(t, 1)
  if (got === undefined) return
  const { s, cluster, db, sql } = got
  const a = await readyToTransfer(t, s, '0811980301')
  const b = await s.call('0811980302')

  await cluster.connectionLimit(db.name, 0)
  const n = await cluster.terminateConnections(db.name)
  t.ok(n >= 1, `the pool's connections were terminated (${n})`)

  const r = await press(s, a)
  t.equal(r.status, 503, `the press while connections are refused: 503 ${JSON.stringify(r.body)}`)
  t.equal(r.body.error, 'STORE_UNAVAILABLE')
  t.equal(blindTransfers(s), 0, 'no BlindTransfer was sent to Asterisk')
  await notReadyForStore(t, s)
  const again = await press(s, a)
  t.equal(again.status, 503, 'a second press meanwhile: 503 too')
  t.equal(blindTransfers(s), 0, 'still no BlindTransfer')
  // B's customer hangs up meanwhile.
  await s.admin.action('Hangup', { Channel: s.svc.tracker.get(b.callId)?.customerChannel ?? '' })
  await waitFor('B ended in memory', () => s.svc.tracker.get(b.callId)?.state === 'ended' ? true : undefined)
  const status = await settles('/v1/status', s.http('GET', '/v1/status', TOKENS.supervisor))
  t.comment(`/v1/status store during the refusal: ${JSON.stringify(status.body.store)}`)

  await cluster.connectionLimit(db.name, -1)
  await readyAgain(s)
  await eventually('B ended in the store', async () => (await sql<{ state: string }>('SELECT state FROM calls WHERE call_id = $1', [b.callId]))[0]?.state === 'ended' ? true : undefined, 15_000)
  t.pass('B, which ended while connections were refused, is ended in the store')
  t.equal((await sql<{ state: string }>('SELECT state FROM calls WHERE call_id = $1', [a.callId]))[0]?.state, 'connected', 'A: connected in the store')
  await transfersNow(t, s, a, 'A')
  t.equal(blindTransfers(s), 1, 'one BlindTransfer in the whole run, after recovery')
})

// The ACW's pause is sent once its deadline commits (src/acw/service.ts, activate); an ACW
// that ended in memory while the commit waited for the database must not be paused then:
// the agent would be left paused for ACW with no ACW left to lift it (found by this test).
t.test('postgres: an ACW that ran out while the database was down leaves the agent free once it is back', async t => {
  const ACW_SECONDS = 3
  const got = await setup(t, ACW_SECONDS)
  if (got === undefined) return
  const { s, cluster, sql } = got
  const a = await s.call('0811980401')
  const b = await s.call('0811980402')
  t.not(b.agentId, a.agentId, 'B is with the other agent')

  await cluster.stop('immediate')
  await s.admin.action('Hangup', { Channel: s.svc.tracker.get(b.callId)?.customerChannel ?? '' })
  await waitFor('B ended in memory', () => s.svc.tracker.get(b.callId)?.state === 'ended' ? true : undefined)
  // B's agent's ACW runs its whole course while nothing can be written.
  await waitFor('B\'s agent\'s ACW over in memory', () => s.svc.acw.entry(b.agentId) === undefined ? true : undefined, (ACW_SECONDS + 15) * 1000)
  await cluster.start()
  await readyAgain(s)
  await eventually('B ended in the store', async () => (await sql<{ state: string }>('SELECT state FROM calls WHERE call_id = $1', [b.callId]))[0]?.state === 'ended' ? true : undefined, 15_000)

  // The backlog (ACW begun, ending, over) is written; the agent must not be paused by it now.
  t.equal((await sql('SELECT 1 FROM acw WHERE agent_id = $1', [b.agentId])).length, 0, 'no ACW row left for B\'s agent')
  const c = await s.call('0811980403').catch((err: Error) => { t.fail(`the next caller did not reach B's agent (A's is busy): ${err.message}`); return undefined })
  if (c !== undefined) t.equal(c.agentId, b.agentId, 'the next caller reaches B\'s agent (A\'s is busy): not left paused')
  t.same(await memberPause(s.admin, b.agentId), { paused: false, reason: '' }, 'Asterisk agrees: B\'s agent is not paused')
  t.equal(s.svc.acw.entry(b.agentId), undefined, 'the service holds no ACW for B\'s agent')
  const sentPauses = s.sent.filter(x => x.name === 'QueuePause' && x.fields.Interface === `Local/${b.agentId}@agents/n`).map(x => x.fields.Paused)
  t.comment(`QueuePause sent for B's agent, in order: ${sentPauses.join(', ')}`)
  await s.admin.action('Hangup', { Channel: s.svc.tracker.get(a.callId)?.customerChannel ?? '' })
  if (c !== undefined) await s.admin.action('Hangup', { Channel: s.svc.tracker.get(c.callId)?.customerChannel ?? '' })
})
