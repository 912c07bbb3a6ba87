// An HA group of real service processes (src/server.ts with `ha`) on one real PostgreSQL
// (CONTRACT.md section 6): three started at once, exactly one is active; SIGKILL the
// active and a standby takes over within leaseMs + 3 s and logs into AMI; SIGSTOP that
// one past its lease and the last takes over (and ends the ACW the frozen one began, at
// its deadline), while the old one, resumed, sends nothing to Asterisk and becomes
// standby; SIGTERM the active and the lease is given up for the standby.
//
// Each process logs into a fake AMI server of its own (asteriskLike answers): the same
// PBX as far as the service can tell, and every action is attributed to the process that
// sent it without guessing which connection is whose.
import t from 'tap'
import { FakeAmi } from '../helpers/fake-ami.ts'
import { baseRawConfig, TOKENS } from '../helpers/config.ts'
import { eventually } from '../helpers/ami.ts'
import { storeEnv } from '../helpers/engines.ts'
import { freePort } from '../pbx/sandbox.ts'
import { asteriskLike, http, sleep, spawnService, stopProc, writeConfig, type HttpAnswer, type Proc } from '../faults/lib.ts'

const LEASE_MS = 2000
/** The contract's bound, from the moment the active is gone to the other's /readyz saying active. */
const TAKEOVER_BOUND_MS = LEASE_MS + 3000
/** Actions that change nothing on the PBX: a session's own (the adapter's gate lets Ping and Logoff through). */
const SESSION_ACTIONS = new Set(['login', 'ping', 'logoff'])
/** Longer than what is left of the active's lease when it is frozen: the ACW deadline comes due after its permission to act ended. */
const ACW_SECONDS = 3
const AGENT_IFACE = 'Local/1001@agents/n'

interface Instance { id: string, p: Proc, base: string, fake: FakeAmi }

t.test('a group of three processes: one active; takeover after SIGKILL, after SIGSTOP past the lease (the old one acts no more), and after SIGTERM', async t => {
  const env = await storeEnv(t, 'postgres')
  if (env === undefined) return
  const t0 = Date.now()
  const phase = (what: string): void => { t.comment(`${what} at ${Date.now() - t0} ms`) }

  const spawn = async (id: string): Promise<Instance> => {
    const fake = await FakeAmi.start({ handler: asteriskLike() })
    t.teardown(async () => { await fake.stop() })
    const raw = baseRawConfig(fake.port)
    const port = await freePort()
    raw.http.port = port
    raw.http.shutdownTimeoutMs = 3000
    raw.log.level = 'info'
    raw.acw = { seconds: ACW_SECONDS, mode: 'fixed' }
    raw.ha = { instanceId: id, advertiseUrl: `http://127.0.0.1:${port}`, leaseMs: LEASE_MS }
    const p = spawnService({ configFile: writeConfig(raw), env: env as Record<string, string> })
    t.teardown(async () => { if (!p.exited()) { try { process.kill(p.pid, 'SIGCONT') } catch {} } await stopProc(p) })
    return { id, p, base: `http://127.0.0.1:${port}`, fake }
  }
  const readyRole = async (i: Instance): Promise<string | undefined> => {
    const r = await http(i.base, 'GET', '/readyz', undefined, undefined, 2000)
    return r.status === 200 ? (r.body as { role?: string }).role : undefined
  }
  const whenRole = async (i: Instance, role: string, timeoutMs: number): Promise<void> => {
    await eventually(`${i.id} /readyz role ${role}`, async () => await readyRole(i) === role, timeoutMs)
      .catch((err: Error) => { throw new Error(`${err.message}; its output:\n${i.p.out().slice(-4000)}`) })
  }
  const actionsSince = (i: Instance, mark: number): string[] => i.fake.actions.slice(mark).map(a => a.headers.action ?? '?')
  const pause = async (i: Instance, timeoutMs?: number): Promise<HttpAnswer> => await http(i.base, 'POST', '/v1/agents/1001/pause', TOKENS.agent1001, { reason: 'ISTIRAHAT' }, timeoutMs)

  const roles = async (xs: Instance[]): Promise<Array<string | undefined>> => await Promise.all(xs.map(readyRole))
  const outputs = (xs: Instance[]): string => xs.map(i => `===== ${i.id}\n${i.p.out().slice(-3000)}`).join('\n')
  /** The one of `xs` that is active once exactly one is, and the others standby. */
  const oneActive = async (xs: Instance[], timeoutMs: number): Promise<Instance> => await eventually('exactly one active, the others standby', async () => {
    const r = await roles(xs)
    return r.filter(x => x === 'active').length === 1 && r.filter(x => x === 'standby').length === xs.length - 1 ? xs[r.indexOf('active')] : undefined
  }, timeoutMs).catch((err: Error) => { throw new Error(`${err.message}; outputs:\n${outputs(xs)}`) })

  // 1. Three processes at once on an empty database: they migrate it without colliding, and one is active.
  const all = await Promise.all([spawn('cti-a'), spawn('cti-b'), spawn('cti-c')])
  const active = await oneActive(all, 60_000)
  const standbys = all.filter(i => i !== active)
  t.pass(`${active.id} is active`)
  await sleep(LEASE_MS) // a few renewals more: still exactly one active
  t.same(await roles(all), all.map(i => i === active ? 'active' : 'standby'), 'still one active after some renewals')
  t.same(standbys.map(i => i.fake.sockets.size), [0, 0], 'the standbys hold no AMI session')

  const status = await http(active.base, 'GET', '/v1/status', TOKENS.supervisor)
  t.equal(status.status, 200)
  t.match(status.body, { role: 'active', lease: { holder: active.id, expiresAt: String } }, `/v1/status: the role and the lease: ${JSON.stringify(status.body)}`)
  const members = (status.body as { instances?: Array<{ id: string, role: string, advertiseUrl?: string, lastSeenAt: string }> }).instances ?? []
  t.same(members.map(m => m.id).sort(), ['cti-a', 'cti-b', 'cti-c'], 'every instance is listed')
  for (const i of standbys) t.match(members.find(m => m.id === i.id), { role: 'standby', advertiseUrl: i.base, lastSeenAt: String }, `${i.id}: standby, with its URL`)
  t.match(members.find(m => m.id === active.id), { role: 'active', advertiseUrl: active.base })

  // The request the frozen active will be sent later does reach AMI when its sender may act.
  const before = active.fake.actionsNamed('QueuePause').length
  const paused = await pause(active)
  t.equal(paused.status, 200, `the active pauses an agent: ${JSON.stringify(paused.body)}`)
  t.equal(active.fake.actionsNamed('QueuePause').length, before + 1, 'with a QueuePause')
  t.equal((await http(active.base, 'POST', '/v1/agents/1001/ready', TOKENS.agent1001)).status, 200, 'and unpauses it')

  phase('all up')
  // 2. SIGKILL the active: a standby takes over within the bound and logs into AMI.
  await stopProc(active.p, 'SIGKILL')
  const killedAt = Date.now()
  const b1 = await oneActive(standbys, TAKEOVER_BOUND_MS + 2000)
  const takeoverMs = Date.now() - killedAt
  t.ok(takeoverMs <= TAKEOVER_BOUND_MS, `${b1.id} took over ${takeoverMs} ms after the kill (bound ${TAKEOVER_BOUND_MS} ms)`)
  t.ok(b1.fake.actionsNamed('login').length >= 1, 'the new active logged into AMI')
  t.ok(b1.p.lines().some(l => l.msg === 'ha: active, the full service took the port'), 'and says so')
  const a2 = standbys.find(i => i !== b1) as Instance
  t.equal(a2.fake.sockets.size, 0, 'the other standby holds no AMI session')

  phase('SIGKILL takeover done')
  // 4. A call ends on the active: its agent is in ACW (paused), the unpause due in
  // ACW_SECONDS. Then SIGSTOP the active past its lease and past that deadline: the
  // standby takes over. When the old one resumes, its ACW timer and its lease's timers
  // are due at once; whichever runs first, nothing reaches Asterisk (the AMI gate asks
  // mayAct, by its own clock; the ACW's commit is fenced; then the service is stopped).
  // test/integration/ha-active-gate.test.ts shows the gate alone, in process.
  const pausesBefore = b1.fake.actionsNamed('QueuePause').length
  for (const payload of [
    { type: 'call.offered', callId: 'ha-1', data: { callerIdNum: '0811', customerChannel: 'PJSIP/trunk-ha-1' } },
    { type: 'call.answered', callId: 'ha-1', agentId: '1001', data: { agentChannel: 'Local/1001@agents-ha-1;1' } },
    { type: 'call.ended', callId: 'ha-1', data: { reason: 'caller hung up' } }
  ]) {
    const r = await http(b1.base, 'POST', '/v1/cti/events', TOKENS.pbx, payload)
    t.equal(r.status, 202, `${payload.type} on the active`)
  }
  await eventually('the ACW pause', async () => b1.fake.actionsNamed('QueuePause').slice(pausesBefore).find(a => /^(1|true)$/i.test(a.headers.paused ?? '')), 10_000)
  await sleep(200) // its confirmation and commit
  const mark = b1.fake.actions.length
  process.kill(b1.p.pid, 'SIGSTOP')
  const frozenAt = Date.now()
  await whenRole(a2, 'active', TAKEOVER_BOUND_MS + 2000)
  t.ok(a2.fake.actionsNamed('login').length >= 1, 'the new active logged into AMI')
  // A request sent to the frozen one too: it waits in its socket until it resumes.
  const late = pause(b1, 20_000)
  // Frozen past its lease and past the ACW deadline, which both come due at once when it resumes.
  await sleep(Math.max(0, Math.max(LEASE_MS, ACW_SECONDS * 1000) + 700 - (Date.now() - frozenAt)))
  process.kill(b1.p.pid, 'SIGCONT')
  const answer = await late
  t.not(answer.status, 200, `the old active did not pause the agent: ${answer.status} ${JSON.stringify(answer.body)}`)
  await whenRole(b1, 'standby', 15_000)
  const sent = actionsSince(b1, mark).filter(name => !SESSION_ACTIONS.has(name.toLowerCase()))
  t.same(sent, [], `the old active sent no action to Asterisk after it was frozen (all since: ${JSON.stringify(actionsSince(b1, mark))})`)
  t.equal(await readyRole(a2), 'active', 'the new active stays active')
  t.ok(b1.p.lines().some(l => l.msg === 'ha: the lease is lost; stopping the service (nothing it does is let through any more)'), 'the old one stood down')
  // The ACW the old active began ends on the new one, at its deadline (recovered from the store).
  await eventually('the new active unpauses the agent', async () => a2.fake.actionsNamed('QueuePause').find(a => a.headers.interface === AGENT_IFACE && /^(0|false)$/i.test(a.headers.paused ?? '')), 10_000)
  t.pass('the new active ended the ACW the old one began (the agent is unpaused)')

  phase('SIGSTOP phase done')
  // 5. SIGTERM the active: it gives the lease up; the standby takes over and the process exits 0.
  const roll = await eventually('the roll call: the resumed one standby', async () => {
    const r = await http(a2.base, 'GET', '/v1/status', TOKENS.supervisor)
    return (r.body as { instances?: Array<{ id: string, role: string }> }).instances?.find(m => m.id === b1.id)?.role === 'standby' ? r : undefined
  }, 5000)
  t.match(roll.body, { role: 'active', lease: { holder: a2.id } }, '/v1/status on the new active: its role and its lease; the resumed one reports itself standby')
  a2.p.child.kill('SIGTERM')
  const exit = await a2.p.exit
  t.equal(exit.code, 0, 'a clean stop')
  t.ok(a2.p.lines().some(l => l.msg === 'stopped'), 'it says it stopped')
  await whenRole(b1, 'active', TAKEOVER_BOUND_MS + 2000)
  t.pass('the standby took over after the clean stop')
  phase('SIGTERM takeover done')
  const builds = all.flatMap(i => i.p.lines().filter(l => l.msg === 'ha: active, the full service took the port').map(l => `${i.id} ${String(l.buildMs)} ms (longest stall ${String(l.longestStallMs)} ms)`))
  t.comment(`service builds on taking the lease: ${builds.join('; ')}`)
})
