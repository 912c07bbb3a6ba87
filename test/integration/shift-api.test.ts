// The shift's routes over the real app (createService, SQLite) against a fake AMI that
// answers like app_queue: what reaches Asterisk, what is refused before it does, and
// the answers clients get (CONTRACT.md section 7).
import t from 'tap'
import { TOKENS } from '../helpers/config.ts'
import { asteriskPauses, startAppStack } from '../helpers/app-stack.ts'
import type { Handler } from '../helpers/fake-ami.ts'
import { eventually, waitFor } from '../helpers/ami.ts'
import type { AppStack } from '../helpers/app-stack.ts'

/** QueueAdd/QueueRemove as app_queue answers them; agent 1002's phone is a static member; PJSIP/9 is no member. */
const members: Handler = (a, sock, f) => {
  const id = a.headers.actionid ?? ''
  const name = a.headers.action
  if (name === 'QueuePause' && a.headers.interface === 'PJSIP/9') {
    sock.write(`Response: Error\r\nActionID: ${id}\r\nMessage: Interface not found\r\n\r\n`)
    return true
  }
  if (name === 'QueueAdd' || name === 'QueueRemove') {
    const statik = a.headers.interface === 'Local/1002@agents/n'
    const error = name === 'QueueAdd' ? (statik ? 'Unable to add interface: Already there' : undefined) : (statik ? 'Unable to remove interface from queue: Member is not dynamic' : undefined)
    sock.write(error !== undefined ? `Response: Error\r\nActionID: ${id}\r\nMessage: ${error}\r\n\r\n` : `Response: Success\r\nActionID: ${id}\r\nMessage: ok\r\n\r\n`)
    return true
  }
  return asteriskPauses(a, sock, f)
}

t.test('login, pause, next status and logout through the API', async t => {
  const s = await startAppStack(t, { handler: members })

  const nl = await s.post('/v1/agents/1001/login', TOKENS.agent1001, { interface: 'Local/2001@agents/n\r\nAction: Originate' })
  t.equal(nl.status, 400)
  t.match(nl.body, { error: 'BAD_REQUEST', message: /^interface: interface contains a line break/ })
  const tech = await s.post('/v1/agents/1001/login', TOKENS.agent1001, { interface: 'SIPP/2001' })
  t.match(tech.body, { error: 'BAD_REQUEST', message: /not allowed \(allowed: PJSIP, SIP, IAX2, Local\)/ })
  const queue = await s.post('/v1/agents/1001/login', TOKENS.agent1001, { queues: ['vip'] })
  t.match(queue.body, { error: 'BAD_REQUEST', message: /vip not among agent 1001's queues \(pln123\)/, allowed: ['pln123'] })
  t.equal(s.fake.actionsNamed('QueueAdd').length, 0, 'nothing refused reached Asterisk')
  t.notOk(s.fake.received.includes('Originate'), 'not a byte of the injected action')

  const login = await s.post('/v1/agents/1001/login', TOKENS.agent1001, { interface: 'Local/2001@agents/n' })
  t.equal(login.status, 200, login.text)
  t.match(login.body, { id: '1001', loggedOut: false, interface: 'Local/2001@agents/n', paused: false })
  t.match(s.fake.actionsNamed('QueueAdd').map(a => a.headers), [{ queue: 'pln123', interface: 'Local/2001@agents/n', membername: 'Agent 1001', paused: 'false' }])
  t.match(await s.svc.store.sessions.all(), [{ agentId: '1001', interface: 'Local/2001@agents/n', queues: ['pln123'] }], 'the session is in the store')
  const taken = await s.post('/v1/agents/1002/login', TOKENS.supervisor, { interface: 'local/2001@agents/n' })
  t.equal(taken.status, 409)
  t.equal(taken.body.error, 'INTERFACE_IN_USE')
  const statik = await s.post('/v1/agents/1002/login', TOKENS.agent1002)
  t.equal(statik.status, 200, `a static member: "Already there" is a success (${statik.text})`)

  const bad = await s.post('/v1/agents/1001/pause', TOKENS.agent1001, { reason: 'NGOPI' })
  t.equal(bad.status, 400)
  t.match(bad.body, { error: 'BAD_REQUEST', message: /allowed: ISTIRAHAT, SHOLAT, BRIEFING, TOILET/, allowed: ['ISTIRAHAT', 'SHOLAT', 'BRIEFING', 'TOILET'] })
  t.equal(s.fake.actionsNamed('QueuePause').length, 0)

  // On a call: the pause waits for ACW's end; no logout.
  // The agent's leg is at the phone of the login: the tracker matches it there.
  t.equal((await s.post('/v1/cti/events', TOKENS.pbx, { type: 'call.offered', callId: 'shift-call-1', data: { customerChannel: 'PJSIP/trunk-1' } })).status, 202)
  const answered = await s.post('/v1/cti/events', TOKENS.pbx, { type: 'call.answered', callId: 'shift-call-1', agentId: '1001', data: { agentChannel: 'Local/2001@agents-00000001;1' } })
  t.equal(answered.status, 202, answered.text)
  const next = await s.post('/v1/agents/1001/pause', TOKENS.agent1001, { reason: 'ISTIRAHAT' })
  t.equal(next.status, 202)
  t.same(next.body.next, { paused: true, reason: 'ISTIRAHAT' })
  t.match(next.body.agent, { state: 'on_call', next: { paused: true, reason: 'ISTIRAHAT' } })
  t.equal(s.fake.actionsNamed('QueuePause').length, 0, 'nothing sent during the call')
  const onCall = await s.post('/v1/agents/1001/logout', TOKENS.agent1001)
  t.equal(onCall.status, 409)
  t.equal(onCall.body.error, 'ON_CALL')
  await s.post('/v1/cti/events', TOKENS.pbx, { type: 'call.ended', callId: 'shift-call-1' })
  const acw = await s.get('/v1/agents/1001', TOKENS.agent1001)
  t.match(acw.body, { state: 'acw', next: { paused: true, reason: 'ISTIRAHAT' } }, 'the next status shows during ACW')
  const ready = await s.post('/v1/agents/1001/ready', TOKENS.agent1001)
  t.equal(ready.body.error, 'ACW_RUNNING')
  const pending = await s.post('/v1/agents/1001/logout', TOKENS.agent1001)
  t.equal(pending.status, 202)
  t.equal(pending.body.pending, 'logout', 'during ACW: done when it ends')

  const nobody = await s.post('/v1/agents/1002/pause', TOKENS.supervisor, { reason: 'TOILET' })
  t.equal(nobody.status, 200, 'a static member pauses at its own phone')
  const gone = await startAppStack(t, { handler: members, edit: raw => { raw.agents[0].interface = 'PJSIP/9' } })
  const notIn = await gone.post('/v1/agents/1001/pause', TOKENS.agent1001, { reason: 'TOILET' })
  t.equal(notIn.status, 409)
  t.equal(notIn.body.error, 'NOT_LOGGED_IN', 'a member of no queue: log in first')

  // ACW (1 s in tests) ends: the pending logout is done instead of the unpause.
  await waitFor('ACW over', () => s.svc.acw.entry('1001') === undefined ? true : undefined)
  const out = await eventuallyView(s, v => v.loggedOut === true)
  t.match(out, { state: 'offline', loggedOut: true })
  t.match(s.fake.actionsNamed('QueueRemove').map(a => a.headers), [{ queue: 'pln123', interface: 'Local/2001@agents/n' }], 'removed from its queue')
  t.notOk(s.fake.actionsNamed('QueuePause').some(a => a.headers.interface === 'Local/2001@agents/n' && a.headers.paused === 'false'), 'never unpaused on the way out')
  t.same(await s.svc.store.sessions.all().then(all => all.map(x => x.agentId)), ['1002'], 'its session is gone from the store')
  const audit = await s.get('/v1/audit', TOKENS.supervisor)
  const mine = audit.body.entries.filter((e: { target: string }) => e.target === '1001').map((e: { action: string, role: string }) => `${e.action}/${e.role}`).reverse()
  t.same(mine, ['agent.login/agent', 'agent.next/agent', 'agent.next/agent', 'agent.logout/system'], 'audited: the login, what was asked for next, the logout done at ACW\'s end')
})

t.test('GET /v1/pause-reasons: the configured reasons for the pause menu, for agents and supervisors', async t => {
  const reasons = [{ code: 'SHOLAT', label: 'Sholat', maxMinutes: 15 }, { code: 'RAPAT', label: 'Rapat tim', maxMinutes: 45 }]
  const s = await startAppStack(t, { edit: raw => { raw.pauseReasons = reasons } })
  const r = await s.get('/v1/pause-reasons', TOKENS.agent1001)
  t.equal(r.status, 200)
  t.same(r.body, { reasons }, 'the config\'s reasons, in its order')
  t.equal((await s.get('/v1/pause-reasons', TOKENS.supervisor)).status, 200)
  t.equal((await s.get('/v1/pause-reasons', TOKENS.pbx)).status, 403)
  t.equal((await s.get('/v1/pause-reasons?all=1', TOKENS.agent1001)).status, 400, 'no query')
})

async function eventuallyView (s: AppStack, ok: (v: any) => boolean): Promise<any> {
  return await eventually('the agent view', async () => { const v = (await s.get('/v1/agents/1001', TOKENS.supervisor)).body; return ok(v) ? v : undefined })
}
