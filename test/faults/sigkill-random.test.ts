// Fault: SIGKILL at random moments during a scripted run of calls (50 for a group, 24 for one instance) on the real Asterisk
// sandbox, against the real process of src/server.ts, restarted each time. The script
// mixes the SOP's topics (activation/disruption: consent + Direct Transfer; coverage/
// billing: educate) with calls that are just hung up (by the caller or by the agent),
// ACW of 2 s, 4 agents. The driver behaves like a softphone: when the service does not
// answer it waits and tries again (so a press may be repeated across a kill).
// At the end:
//  - every call that completed its outcome has exactly one APKT record at the receiver
//    (which deduplicates by Idempotency-Key), and calls without an ICONNET inquiry none;
//  - no call was transferred twice (BlindTransfer events and IconnetArrived user events,
//    as the admin AMI session saw them, per Linkedid);
//  - no agent is stuck paused (QueueStatus), none is left in ACW or on a call;
//  - nothing is pending or dead in the outbox, no call is left half-way.
// Two runs: a single instance (embedded SQLite), restarted after each kill; and an HA
// group (issue 14: two instances on one PostgreSQL), where the instance killed is chosen
// at random too (the active or the standby) and restarted, and the softphone sends each
// request to the next instance in turn, as a load balancer without stickiness would.
// The seed is printed; FAULTS_SEED=<n> replays the same kill schedule and script.
import t, { type Test } from 'tap'
import type { AmiEvent } from '../../src/ami/index.ts'
import { baseRawConfig, TOKENS } from '../helpers/config.ts'
import { eventually } from '../helpers/ami.ts'
import { Receiver, RECEIVER_TOKEN } from '../helpers/apkt.ts'
import { needPostgres, queryOnce } from '../helpers/postgres.ts'
import { ADMIN_USER, placeCall, sandboxClient, startSandbox } from '../pbx/fixture.ts'
import { freePort } from '../pbx/sandbox.ts'
import { http, sleep, spawnService, stopProc, writeConfig, type HttpAnswer, type Proc } from './lib.ts'

// 50 calls for the group (issue 14 asks for 50); 24 for one instance, whose restart path
// the crash tests (acw-crash, sigkill-transfer) also cover: npm test is near its 20 minutes.
const CALLS_OF: Record<'single' | 'group', number> = { single: 24, group: 50 }
const AGENTS = ['1001', '1002', '1003', '1004']
const ACW_SECONDS = 2
const KILLS = 3

type Kind = 'activation' | 'disruption' | 'coverage' | 'billing' | 'caller-hangup' | 'agent-hangup'
const SCRIPT: Kind[] = ['activation', 'coverage', 'disruption', 'billing', 'caller-hangup', 'activation', 'coverage', 'agent-hangup']
const PERMASALAHAN: Partial<Record<Kind, string>> = {
  activation: 'ICONNET : TRANSFER CALL',
  disruption: 'ICONNET : TRANSFER CALL',
  coverage: 'ICONNET : INFO CAKUPAN AREA DI WILAYAH KOJA, TELAH DIJELASKAN SESUAI KETENTUAN. PELANGGAN MENGERTI',
  billing: 'ICONNET : INFO TAGIHAN, TELAH DIJELASKAN SESUAI KETENTUAN. PELANGGAN MENGERTI'
}

function mulberry32 (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

interface Outcome { i: number, kind: Kind, caller: string, callId: string, agentId: string, completed: boolean, notes: string[], connectedAt: number, hungUpAt: number }

type Mode = 'single' | 'group'
const LEASE_MS = 2000

for (const mode of ['single', 'group'] as const) {
  t.test(`${mode === 'single' ? 'one instance' : 'HA group of two'}: SIGKILL ${KILLS} times at random during ${CALLS_OF[mode]} calls: no lost record, no stuck agent, no double transfer`, async t => { await run(t, mode) })
}

async function run (t: Test, mode: Mode): Promise<void> {
  const CALLS = CALLS_OF[mode]
  const seed = Number(process.env.FAULTS_SEED ?? Date.now() % 1_000_000)
  t.comment(`seed ${seed} (FAULTS_SEED=${seed} replays it)`)
  const rnd = mulberry32(seed)
  const started = Date.now()

  const sb = await startSandbox(t)
  const { client: admin } = await sandboxClient(t, sb, ADMIN_USER)
  const pbx: AmiEvent[] = []
  const seenAt = new WeakMap<AmiEvent, number>()
  admin.on('event', e => { pbx.push(e); seenAt.set(e, Date.now()) })
  for (const id of AGENTS.slice(2)) {
    await admin.action('QueueAdd', { Queue: 'pln123', Interface: `Local/${id}@agents/n`, MemberName: `Agent ${id}`, StateInterface: `Local/${id}@agents/n`, Paused: 'false' })
  }
  const receiver = await Receiver.start(() => ({ status: 201 }))
  t.teardown(() => receiver.stop())

  const tokens: Record<string, string> = { 1001: TOKENS.agent1001, 1002: TOKENS.agent1002, 1003: 'test-agent-1003-token-0123456789', 1004: 'test-agent-1004-token-0123456789' }
  const port = await freePort()
  const raw = baseRawConfig(sb.amiPort)
  raw.http.port = port
  raw.log.level = 'info'
  raw.acw = { seconds: ACW_SECONDS, mode: 'fixed' }
  raw.agents = AGENTS.map(id => ({ id, interface: `Local/${id}@agents/n`, queues: ['pln123'], unit: 'DISTRIBUSI JAKARTA RAYA', unitPelayanan: 'UP3 TANJUNG PRIOK' }))
  raw.auth.tokens = [
    { token: TOKENS.pbx, role: 'pbx', name: 'pbx' },
    { token: TOKENS.supervisor, role: 'supervisor', name: 'supervisor' },
    ...AGENTS.map(id => ({ token: tokens[id], role: 'agent', agent: id, name: `agent-${id}` }))
  ]
  raw.apkt = { url: receiver.url, token: RECEIVER_TOKEN, timeoutMs: 1000, dispatcher: { pollMs: 100, backoff: { initialMs: 100, maxMs: 500 } } }
  // One instance, or two of a group on one database (each its own port and instance id).
  const cluster = mode === 'group' ? await needPostgres(t) : undefined
  if (mode === 'group' && cluster === undefined) return
  const db = await cluster?.createDatabase()
  if (db !== undefined) t.teardown(db.drop)
  const instances = await Promise.all((mode === 'group' ? ['cti-a', 'cti-b'] : ['single']).map(async (id, n) => {
    const p = n === 0 ? port : await freePort()
    const file = writeConfig({ ...raw, http: { ...raw.http, port: p } })
    const env: Record<string, string> = db === undefined
      ? {}
      : { CTI_STORE_KIND: 'postgres', CTI_STORE_URL: db.url, CTI_HA_INSTANCE_ID: id, CTI_HA_ADVERTISE_URL: `http://127.0.0.1:${p}`, CTI_HA_LEASE_MS: String(LEASE_MS) }
    return { id, base: `http://127.0.0.1:${p}`, file, env, proc: undefined as Proc | undefined }
  }))
  const procs: Proc[] = []
  const boot = async (inst: (typeof instances)[number]): Promise<void> => {
    const p = spawnService({ configFile: inst.file, env: inst.env })
    inst.proc = p
    procs.push(p)
    t.teardown(() => stopProc(p))
    await eventually(`${inst.id} ready`, async () => (await http(inst.base, 'GET', '/readyz', undefined, undefined, 1000)).status === 200, 20_000)
  }
  for (const inst of instances) await boot(inst) // the first one up is the group's first active
  let turn = 0
  /** The next instance in turn: a load balancer without stickiness (one instance: always it). */
  const base = (): string => (instances[turn++ % instances.length] as (typeof instances)[number]).base

  // ---- the softphone driver ----------------------------------------------------------
  const unexpected: string[] = []
  const api = async (method: 'GET' | 'POST', url: string, token: string, body?: unknown): Promise<HttpAnswer> => await http(base(), method, url, token, body, 10_000)
  /** Retries while the service is down, restarting, or has not resynced the call yet. */
  const until = async (what: string, o: Outcome, fn: () => Promise<HttpAnswer>, done: (r: HttpAnswer) => boolean): Promise<HttpAnswer> => {
    const deadline = Date.now() + 25_000
    for (;;) {
      const r = await fn()
      if (done(r)) return r
      const transient = r.status === 0 || r.status === 503 || r.status === 502 || r.body?.error === 'CALL_NOT_FOUND' ||
        (r.body?.error === 'CALL_NOT_CONNECTED' && /is (offered|transferring)/.test(r.body?.message ?? ''))
      if (!transient || Date.now() > deadline) {
        unexpected.push(`call ${o.i} (${o.kind}, ${o.callId}): ${what} answered ${r.status} ${JSON.stringify(r.body)}`)
        return r
      }
      o.notes.push(r.status === 0 ? `${what}: no answer (service down)` : `${what}: ${r.status} ${r.body?.error as string}`)
      await sleep(150)
    }
  }
  const connectedTo = async (caller: string): Promise<AmiEvent> => await eventually(`call ${caller} at an agent`, async () => pbx.find(e => e.event === 'AgentConnect' && e.fields.calleridnum === caller), 30_000)

  const outcomes: Outcome[] = []
  let finished = 0
  const runCall = async (i: number): Promise<void> => {
    const kind = SCRIPT[i % SCRIPT.length] as Kind
    const caller = `0811990${String(i).padStart(3, '0')}`
    const o: Outcome = { i, kind, caller, callId: '', agentId: '', completed: false, notes: [], connectedAt: 0, hungUpAt: 0 }
    outcomes.push(o)
    await placeCall(admin, caller)
    const ac = await connectedTo(caller)
    o.connectedAt = seenAt.get(ac) ?? Date.now()
    o.callId = ac.fields.linkedid ?? ''
    o.agentId = /Local\/(\d+)@/.exec(ac.fields.interface ?? '')?.[1] ?? ''
    const token = tokens[o.agentId] as string
    const customer = ac.fields.channel ?? ''
    if (kind === 'caller-hangup' || kind === 'agent-hangup') {
      await sleep(rnd() * 300)
      await admin.action('Hangup', { Channel: kind === 'caller-hangup' ? customer : ac.fields.destchannel ?? '' })
      o.hungUpAt = Date.now()
      finished++
      return
    }
    const inquiry = kind === 'coverage'
      ? { topic: kind, customer: { name: 'Sari', salutation: 'Ibu' }, area: 'Koja' }
      : kind === 'billing'
        ? { topic: kind, customer: { name: 'Sari', salutation: 'Ibu' }, subscribedViaPlnMobile: false }
        : { topic: kind, customer: { name: 'Budi', salutation: 'Bapak' } }
    const inq = await until('inquiry', o, async () => await api('POST', `/v1/calls/${o.callId}/inquiry`, token, inquiry), r => r.status === 200)
    if (inq.status !== 200) { finished++; return }
    if (kind === 'coverage' || kind === 'billing') {
      await sleep(rnd() * 200)
      await admin.action('Hangup', { Channel: customer })
      o.completed = true
      finished++
      return
    }
    const con = await until('consent', o, async () => await api('POST', `/v1/calls/${o.callId}/consent`, token, { accepted: true }), r => r.status === 200)
    if (con.status !== 200) { finished++; return }
    const press = await until('direct-transfer', o, async () => await api('POST', `/v1/calls/${o.callId}/direct-transfer`, token, { target: 3 }),
      r => r.status === 200 || (r.status === 409 && r.body?.error === 'ALREADY_TRANSFERRED'))
    if (press.status === 200 || press.body?.error === 'ALREADY_TRANSFERRED') {
      o.completed = true
      if (press.status === 409) o.notes.push('press answered ALREADY_TRANSFERRED (a press before a kill had done it)')
      const arrived = await eventually(`call ${i} at ICONNET`, async () => pbx.find(e => e.event === 'UserEvent' && e.fields.userevent === 'IconnetArrived' && e.fields.linkedid === o.callId), 10_000)
        .catch(() => undefined)
      if (arrived === undefined) unexpected.push(`call ${i} (${o.callId}): transfer answered ${press.status} but the customer never reached ICONNET`)
      else await admin.action('Hangup', { Channel: arrived.fields.channel ?? '' })
    }
    finished++
  }

  // ---- the killer ---------------------------------------------------------------------
  const kills: Array<{ afterCalls: number, at: number, wall: number, pid: number, id: string }> = []
  const killer = (async () => {
    const marks = Array.from({ length: KILLS }, (_, k) => Math.floor(((k + 1) / (KILLS + 1)) * CALLS + (rnd() - 0.5) * 8))
    for (const mark of marks) {
      while (finished < mark) await sleep(20)
      await sleep(rnd() * 1500) // a random moment, whatever is in flight
      const inst = instances[Math.floor(rnd() * instances.length)] as (typeof instances)[number]
      const p = inst.proc as Proc
      kills.push({ afterCalls: finished, at: Date.now() - started, wall: Date.now(), pid: p.pid, id: inst.id })
      p.child.kill('SIGKILL')
      await p.exit
      await boot(inst)
    }
  })()

  // ---- the run: up to one call per agent in progress ----------------------------------
  let next = 0
  await Promise.all(AGENTS.map(async () => {
    while (next < CALLS) {
      const i = next++
      await runCall(i).catch((err: Error) => { unexpected.push(`call ${i}: ${err.message}`); finished++ })
    }
  }))
  await killer
  t.comment(`kills: ${kills.map(k => `${k.id} after ${k.afterCalls} calls at ${k.at} ms`).join('; ')}; run took ${Date.now() - started} ms`)
  t.equal(kills.length, KILLS, `${KILLS} SIGKILLs`)
  for (const p of procs.filter(p => p.exited())) t.equal((await p.exit).signal, 'SIGKILL')
  t.same(unexpected, [], `the softphone never got an answer it should not have${unexpected.length > 0 ? `: ${unexpected.join(' | ')}` : ''}`)

  // ---- the end state ------------------------------------------------------------------
  /**
   * What is still pending or dead, oldest first (each agent's head is what holds the rest
   * back), and in a group's database who holds its claim: for the failure message.
   */
  const leftInOutbox = async (): Promise<string> => {
    const left = ([
      ...(await api('GET', '/v1/apkt/records?status=pending&limit=200', TOKENS.supervisor)).body.records ?? [],
      ...(await api('GET', '/v1/apkt/records?status=dead&limit=200', TOKENS.supervisor)).body.records ?? []
    ] as Array<{ id: string, callId: string, agentId: string, status: string, attempts: number, lastError: string | null, nextAttemptAt: string | null, createdAt: string }>)
      .sort((x, y) => x.createdAt.localeCompare(y.createdAt)).slice(0, 12)
    const claims = new Map<string, string>()
    const rows = db === undefined ? [] : await queryOnce<{ id: string, claimed_by: string | null, claimed_until: string | null }>(db.url, "SELECT id, claimed_by, claimed_until FROM apkt_records WHERE status <> 'delivered'")
    for (const r of rows) claims.set(r.id, `${r.claimed_by ?? 'unclaimed'}${r.claimed_until !== null ? ` until ${r.claimed_until}` : ''}`)
    return left.map(r => `${r.callId} (agent ${r.agentId}, ${r.status}, ${r.attempts} attempt(s), last error ${r.lastError ?? 'none'}, next ${r.nextAttemptAt ?? '-'}${claims.has(r.id) ? `, claim: ${claims.get(r.id) as string}` : ''})`).join('; ')
  }
  // Settled means: no agent still on a call (a call's record is written with its end)
  // and nothing pending, seen twice 300 ms apart, so a hangup still on its way from
  // Asterisk cannot add a record right after the check.
  const settled = async (): Promise<boolean> => {
    const r = await api('GET', '/v1/apkt/records?status=pending&limit=1', TOKENS.supervisor)
    const a = await api('GET', '/v1/agents', TOKENS.supervisor)
    return r.status === 200 && r.body.stats.pending === 0 && a.status === 200 && !(a.body as Array<{ state: string }>).some(x => x.state === 'on_call')
  }
  await eventually('outbox drained, no call in progress', async () => {
    if (!await settled()) return undefined
    await new Promise(resolve => setTimeout(resolve, 300))
    return await settled() ? true : undefined
  }, 15_000).catch(() => undefined)
  const stats = (await api('GET', '/v1/apkt/records?limit=1', TOKENS.supervisor)).body.stats
  t.match(stats, { pending: 0, dead: 0 }, `outbox: ${JSON.stringify(stats)}${stats.pending > 0 || stats.dead > 0 ? `; left: ${await leftInOutbox()}` : ''}`)

  const held = [...receiver.accepted.values()]
  let expectedRecords = 0
  for (const o of outcomes) {
    const mine = held.filter(r => r.callId === o.callId)
    const want = PERMASALAHAN[o.kind]
    if (o.completed && want !== undefined) {
      expectedRecords++
      if (mine.length !== 1 || mine[0]?.permasalahan !== want) t.fail(`call ${o.i} (${o.kind}, ${o.callId}): ${mine.length} APKT record(s) ${JSON.stringify(mine.map(m => m.permasalahan))}; notes: ${o.notes.join('; ')}`)
    } else if (want === undefined && mine.length !== 0) {
      t.fail(`call ${o.i} (${o.kind}): ${mine.length} APKT record(s) for a call without an ICONNET inquiry`)
    }
  }
  t.equal(held.length, expectedRecords, `APKT holds exactly one record per completed outcome (${expectedRecords}; ${receiver.received.length} requests, ${receiver.duplicates} duplicates absorbed by the key)`)
  t.equal(new Set(held.map(r => r.callId)).size, held.length, 'never two records for one call')

  const perCall = (pred: (e: AmiEvent) => string | undefined): Map<string, number> => {
    const m = new Map<string, number>()
    for (const e of pbx) { const id = pred(e); if (id !== undefined) m.set(id, (m.get(id) ?? 0) + 1) }
    return m
  }
  const blind = perCall(e => e.event === 'BlindTransfer' ? e.fields.transfereelinkedid : undefined)
  const arrivals = perCall(e => e.event === 'UserEvent' && e.fields.userevent === 'IconnetArrived' ? e.fields.linkedid : undefined)
  t.same([...blind].filter(([, n]) => n > 1), [], 'no call got two BlindTransfers')
  t.same([...arrivals].filter(([, n]) => n > 1), [], 'no customer reached ICONNET twice')
  const transfers = outcomes.filter(o => o.completed && (o.kind === 'activation' || o.kind === 'disruption'))
  t.ok(transfers.every(o => blind.get(o.callId) === 1 && arrivals.get(o.callId) === 1), `each of the ${transfers.length} transferred calls: one BlindTransfer, one arrival`)
  t.ok(outcomes.filter(o => !(o.kind === 'activation' || o.kind === 'disruption')).every(o => !blind.has(o.callId)), 'no transfer of a call that was not to be transferred')

  // Agents: after the last ACW, none paused in Asterisk, all ready in the service.
  const free = await eventually('every agent free', async () => {
    const q = await admin.list('QueueStatus', { Queue: 'pln123' })
    const stuck = q.items.filter(i => i.event === 'QueueMember' && i.fields.paused === '1').map(i => i.fields.location)
    const agents = (await api('GET', '/v1/agents', TOKENS.supervisor)).body as Array<{ id: string, state: string }>
    return stuck.length === 0 && agents.every(a => a.state === 'ready') ? agents : undefined
  }, (ACW_SECONDS + 8) * 1000).catch(async () => {
    const q = await admin.list('QueueStatus', { Queue: 'pln123' })
    return { paused: q.items.filter(i => i.fields.paused === '1').map(i => `${i.fields.location ?? ''} (${i.fields.pausedreason ?? ''})`), agents: (await api('GET', '/v1/agents', TOKENS.supervisor)).body }
  })
  t.ok(Array.isArray(free), `no agent stuck paused, in ACW or on a call: ${JSON.stringify(free)}`)

  // A call that began and ended while the service was down (between a kill and the
  // resync of the next process) was never seen by it: nothing to settle, nothing owed.
  // The service was down from a kill until the next resync in any instance (a kill of a
  // group's standby: it never was; the next resync is then later, which only widens the
  // calls forgiven a 404, and only if they also began right at the kill).
  const resyncs = procs.flatMap(p => p.lines().filter(l => l.msg === 'call state resynced from Asterisk').map(l => l.time)).sort((x, y) => x - y)
  const resyncedAt = kills.map(k => resyncs.find(r => r > k.wall) ?? Infinity)
  const unseen = (o: Outcome): boolean => kills.some((k, n) => o.connectedAt >= k.wall - 200 && o.hungUpAt > 0 && o.hungUpAt <= (resyncedAt[n] ?? 0))
  const halfway: string[] = []
  let whileDown = 0
  for (const o of outcomes) {
    const c = await api('GET', `/v1/calls/${o.callId}`, TOKENS.supervisor)
    if (c.status === 404 && unseen(o)) { whileDown++; continue }
    if (!(c.body.state === 'ended' || c.body.state === 'transferred')) halfway.push(`${o.i} ${o.kind} ${o.callId}: ${c.status} ${c.body.state as string} (connected +${o.connectedAt - started} ms, hung up +${o.hungUpAt - started} ms)`)
  }
  t.comment(`${whileDown} call(s) began and ended while the service was down`)
  const retried = outcomes.filter(o => o.notes.length > 0)
  t.comment(`${retried.length} call(s) had a request repeated across a kill: ${[...new Set(retried.flatMap(o => o.notes))].join(' | ')}`)
  t.same(halfway, [], `every call settled as ended or transferred${halfway.length > 0 ? `: ${halfway.join('; ')}; kills at ${kills.map(k => k.wall - started).join(', ')} ms, resynced at ${resyncedAt.map(r => r - started).join(', ')} ms` : ''}`)
  const alive = instances.map(i => i.proc).filter((p): p is Proc => p !== undefined && !p.exited())
  if (t.passing() === false) for (const p of alive) t.comment(p.out().split('\n').filter(l => /"level":(40|50|60)/.test(l)).slice(-40).join('\n'))
  for (const p of alive) await stopProc(p, 'SIGTERM')
}
