// The agent's shift on the real sandbox (issue 15): agent 1003 is in no queue of
// queues.conf; it logs in through the API at its phone and queue calls reach it; a pause
// asked during ACW starts when it ends, not before, and shows in QueueStatus and
// in queue_log; an Asterisk restart does not lose the login; after the logout a caller
// waits in the queue until another member takes it. The static members 1001 and 1002
// are paused by the test driver meanwhile, so only 1003 can take calls.
import t from 'tap'
import type { AmiClient } from '../../src/ami/index.ts'
import { eventually, waitFor } from '../helpers/ami.ts'
import { TOKENS } from '../helpers/config.ts'
import { ADMIN_USER, placeCall, sandboxClient } from './fixture.ts'
import { startStack, type Stack } from './harness.ts'
import { queueLog } from './queue-log-file.ts'

const ACW_SECONDS = 3
const TOKEN_1003 = 'test-agent-1003-token-0123456789'
const PHONE = 'Local/1003@agents/n'

async function member (admin: AmiClient, iface: string): Promise<{ paused: boolean, reason: string, name: string } | undefined> {
  const q = await admin.list('QueueStatus', { Queue: 'pln123' })
  const m = q.items.find(i => i.event === 'QueueMember' && i.fields.location === iface)
  return m === undefined ? undefined : { paused: m.fields.paused === '1', reason: m.fields.pausedreason ?? '', name: m.fields.name ?? '' }
}

t.test('login, a queue call, a pause asked during ACW started at its end, an Asterisk restart, logout', async t => {
  const s = await startStack(t, raw => {
    raw.acw = { seconds: ACW_SECONDS, mode: 'fixed' }
    raw.agents.push({ id: '1003', interface: PHONE, memberName: 'Agent 1003', queues: ['pln123'], unit: 'DISTRIBUSI JAKARTA RAYA', unitPelayanan: 'UP3 TANJUNG PRIOK' })
    raw.auth.tokens.push({ token: TOKEN_1003, role: 'agent', agent: '1003', name: 'agent-1003' })
  })
  for (const iface of ['Local/1001@agents/n', 'Local/1002@agents/n']) await s.admin.action('QueuePause', { Interface: iface, Paused: 'true', Reason: 'TEST' })
  t.equal(await member(s.admin, PHONE), undefined, '1003 is in no queue at first')
  const before = await s.http('GET', '/v1/agents/1003', TOKEN_1003)
  t.match(before.body, { state: 'offline', loggedOut: true, paused: false })

  // Login: QueueAdd with the interface and MemberName, unpaused.
  const login = await s.http('POST', '/v1/agents/1003/login', TOKEN_1003, {})
  t.equal(login.status, 200, JSON.stringify(login.body))
  t.match(login.body, { id: '1003', loggedOut: false, interface: PHONE })
  t.same(await member(s.admin, PHONE), { paused: false, reason: '', name: 'Agent 1003' }, 'a member of pln123, unpaused, named Agent 1003')
  const inUse = await s.http('POST', '/v1/agents/1001/login', TOKENS.supervisor, { interface: PHONE })
  t.equal(inUse.body.error, 'INTERFACE_IN_USE', 'another agent cannot log in at that phone')

  // A queue call reaches the phone of the login.
  const call = await s.call('0811001501')
  t.equal(call.agentId, '1003', 'the call is connected to 1003')
  t.match(s.svc.tracker.get(call.callId)?.agentChannel, /^Local\/1003@agents-/, 'at its interface')
  t.equal((await s.http('POST', '/v1/agents/1003/logout', TOKEN_1003)).body.error, 'ON_CALL', 'no logout during a call')

  // The call ends: ACW. A pause asked now is the next status: SHOLAT when ACW ends, never before.
  await s.admin.action('Hangup', { Channel: s.svc.tracker.get(call.callId)?.customerChannel ?? '' })
  const endsAt = await waitFor('ACW', () => s.svc.acw.endsAt('1003'))
  await eventually('paused for ACW', async () => (await member(s.admin, PHONE))?.reason === 'ACW')
  const asked = await s.http('POST', '/v1/agents/1003/pause', TOKEN_1003, { reason: 'SHOLAT' })
  t.equal(asked.status, 202)
  t.same(asked.body.next, { paused: true, reason: 'SHOLAT' }, 'the pause asked during ACW is the next status')
  t.equal((await member(s.admin, PHONE))?.reason, 'ACW', 'still paused for ACW')
  const during = await eventually('the view in ACW', async () => { const v = await s.http('GET', '/v1/agents/1003', TOKEN_1003); return v.body.pauseReason === 'ACW' ? v : undefined })
  t.match(during.body, { state: 'acw', pauseReason: 'ACW', next: { paused: true, reason: 'SHOLAT' } }, 'the next status shows during ACW')
  t.equal((await s.http('POST', '/v1/agents/1003/ready', TOKEN_1003)).body.error, 'ACW_RUNNING', 'no ready during fixed ACW')
  const sholat = await eventually('paused for SHOLAT', async () => { const m = await member(s.admin, PHONE); return m?.reason === 'SHOLAT' ? m : undefined }, (ACW_SECONDS + 8) * 1000)
  t.ok(Date.now() >= Date.parse(endsAt) - 50, 'not before the ACW deadline')
  t.same(sholat, { paused: true, reason: 'SHOLAT', name: 'Agent 1003' }, 'QueueStatus shows the reason')
  const after = await eventually('the view paused', async () => { const v = await s.http('GET', '/v1/agents/1003', TOKEN_1003); return v.body.state === 'paused' && v.body.next === undefined ? v : undefined })
  t.match(after.body, { state: 'paused', paused: true, pauseReason: 'SHOLAT' })
  t.ok(Date.parse(after.body.pausedSince) >= Date.parse(endsAt) - 1000, 'paused since ACW ended')
  t.notOk('next' in after.body, 'the next status is spent')

  // A service restart (a deploy): the login and the break are loaded from the store.
  await s.restartService()
  const reloaded = await eventually('the view after a service restart', async () => { const v = await s.http('GET', '/v1/agents/1003', TOKEN_1003); return v.body.state === 'paused' ? v : undefined })
  t.match(reloaded.body, { loggedOut: false, interface: PHONE, pauseReason: 'SHOLAT', pausedSince: after.body.pausedSince }, 'logged in and on the same break since the same time')

  // An Asterisk restart drops dynamic members: 1003 is added back, still on its break.
  const connects = s.svc.ami.status().connects
  await s.sb.restart()
  await waitFor('service reconnected', () => s.svc.ami.status().connects > connects, 15_000)
  const { client: admin } = await sandboxClient(t, s.sb, ADMIN_USER)
  const back = await eventually('1003 added back, with its reason', async () => { const m = await member(admin, PHONE); return m?.reason === 'SHOLAT' ? m : undefined }, 10_000)
  t.same(back, { paused: true, reason: 'SHOLAT', name: 'Agent 1003' }, 'added back in the restarted Asterisk, paused as it was')
  for (const iface of ['Local/1001@agents/n', 'Local/1002@agents/n']) await admin.action('QueuePause', { Interface: iface, Paused: 'true', Reason: 'TEST' })

  // Ready, then logout: QueueRemove; a caller now waits, then another member takes it.
  t.equal((await s.http('POST', '/v1/agents/1003/ready', TOKEN_1003)).status, 200)
  t.same(await member(admin, PHONE), { paused: false, reason: '', name: 'Agent 1003' })
  const out = await s.http('POST', '/v1/agents/1003/logout', TOKEN_1003)
  t.equal(out.status, 200, JSON.stringify(out.body))
  t.match(out.body, { loggedOut: true, state: 'offline' })
  t.equal(await member(admin, PHONE), undefined, 'no longer a member')
  await placeCall(admin, '0811001502')
  await new Promise(resolve => setTimeout(resolve, 1500))
  const queue = await admin.list('QueueStatus', { Queue: 'pln123' })
  t.ok(queue.items.some(i => i.event === 'QueueEntry' && i.fields.calleridnum === '0811001502'), 'the caller waits in the queue')
  t.notOk(s.svc.tracker.liveCalls().some(c => c.callerIdNum === '0811001502' && c.state === 'connected'), 'and reaches no one')
  await admin.action('QueuePause', { Interface: 'Local/1002@agents/n', Paused: 'false' })
  const taken = await waitFor('another member takes it', () => s.svc.tracker.liveCalls().find(c => c.callerIdNum === '0811001502' && c.state === 'connected'), 15_000)
  t.equal(taken.agentId, '1002', 'agent 1002 takes the call, not the logged-out 1003')

  // queue_log: app_queue writes the member's steps itself; the service adds only ACW's.
  // log_membername_as_agent (queues.conf): app_queue's ADDMEMBER/REMOVEMEMBER name the
  // member as its other lines do, so readers join a shift's lines by one agent column.
  const lines = (await queueLog(s)).filter(l => l.agent === 'Agent 1003')
  t.notOk((await queueLog(s)).some(l => l.agent === PHONE), 'no line names the agent by its interface')
  t.comment(lines.map(l => [l.event, l.agent, l.queue, ...l.data].join('|')).join('\n'))
  const steps = lines.filter(l => ['ADDMEMBER', 'REMOVEMEMBER', 'PAUSE', 'UNPAUSE'].includes(l.event)).map(l => [l.event, l.data[0] ?? ''])
  t.same(steps, [['ADDMEMBER', ''], ['PAUSE', 'ACW'], ['PAUSE', 'SHOLAT'], ['ADDMEMBER', 'PAUSED'], ['PAUSE', 'SHOLAT'], ['UNPAUSE', ''], ['REMOVEMEMBER', '']],
    'login, ACW, the break with its reason, added back after the restart, ready, logout')
  t.ok(lines.filter(l => !l.event.endsWith('ALL')).every(l => l.queue === 'pln123'), 'in queue pln123 (PAUSEALL/UNPAUSEALL: every queue, NONE)')
  // Login, logout, pause and unpause are app_queue's own lines: the service writes only
  // ACW's and the call's wrap-up (WRAPUP and ACWEND come at ACW's end, in either order).
  t.same(s.sent.filter(a => a.name === 'QueueLog').map(a => a.fields.Event).sort(), ['ACWEND', 'ACWSTART', 'WRAPUP'], 'the service wrote only ACW\'s lines and the wrap-up')
  const audit = await s.http('GET', '/v1/audit', TOKENS.supervisor)
  const actions = audit.body.entries.filter((e: { target: string }) => e.target === '1003').map((e: { action: string }) => e.action).reverse()
  t.same(actions.filter((a: string) => a.startsWith('agent.')), ['agent.login', 'agent.next', 'agent.pause', 'agent.ready', 'agent.logout'], 'every step audited')
  await admin.action('Hangup', { Channel: s.svc.tracker.get(taken.callId)?.customerChannel ?? '' })

  // A static member (queues.conf): its login answers "Already there", a success; a
  // logout cannot remove it at run time, and it keeps working as before.
  const statik = await s.http('POST', '/v1/agents/1001/login', TOKENS.supervisor, {})
  t.equal(statik.status, 200, `a static member's login is a success (${JSON.stringify(statik.body)})`)
  const statikOut = await s.http('POST', '/v1/agents/1001/logout', TOKENS.supervisor)
  t.equal(statikOut.status, 200, JSON.stringify(statikOut.body))
  t.ok(await member(admin, 'Local/1001@agents/n'), 'still a member of pln123 (static)')
  t.equal(statikOut.body.loggedOut, false, 'and not shown as logged out')
})
