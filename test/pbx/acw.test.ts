// ACW on the real sandbox: the member is paused with reason ACW after a transfer and
// after a hangup; a caller waiting meanwhile never reaches the agent in ACW; the agent
// gets the next call once ACW is over; an Asterisk restart does not free the agent early.
import t from 'tap'
import type { AmiClient } from '../../src/ami/index.ts'
import { TOKENS } from '../helpers/config.ts'
import { eventually, waitFor } from '../helpers/ami.ts'
import { ADMIN_USER, placeCall, sandboxClient } from './fixture.ts'
import { ENGINES, storeEnv } from '../helpers/engines.ts'
import { startStack, type Stack } from './harness.ts'

const ACW_SECONDS = 4

async function memberPause (admin: AmiClient, agentId: string): Promise<{ paused: boolean, reason: string }> {
  const q = await admin.list('QueueStatus', { Queue: 'pln123' })
  const m = q.items.find(i => i.event === 'QueueMember' && i.fields.location === `Local/${agentId}@agents/n`)
  return { paused: m?.fields.paused === '1', reason: m?.fields.pausedreason ?? '' }
}

async function transferred (s: Stack, num: string): Promise<{ callId: string, agentId: string }> {
  const c = await s.call(num)
  await s.http('POST', `/v1/calls/${c.callId}/inquiry`, c.token, { topic: 'activation', customer: { name: 'Budi', salutation: 'Bapak' } })
  await s.http('POST', `/v1/calls/${c.callId}/consent`, c.token, { accepted: true })
  const r = await s.http('POST', `/v1/calls/${c.callId}/direct-transfer`, c.token, { target: 3 })
  if (r.status !== 200) throw new Error(`transfer: ${JSON.stringify(r.body)}`)
  return c
}

const other = (id: string): string => id === '1001' ? '1002' : '1001'

for (const engine of ENGINES) t.test(`${engine}: ACW after a transfer and after a hangup, enforced by pausing the member`, async t => {
  const env = await storeEnv(t, engine)
  if (env === undefined) return
  const s = await startStack(t, raw => { raw.acw = { seconds: ACW_SECONDS, mode: 'fixed' } }, env)

  const first = await transferred(s, '0811000201')
  await waitFor('pause confirmed', () => s.svc.tracker.agentStatus(first.agentId)?.pausedReason === 'ACW' ? true : undefined)
  const agent = await s.http('GET', `/v1/agents/${first.agentId}`, TOKENS.supervisor)
  t.equal(agent.body.state, 'acw', 'the agent is in ACW after the transfer')
  t.ok(Date.parse(agent.body.acwEndsAt) > Date.now(), 'with a deadline in the future')
  t.same(await memberPause(s.admin, first.agentId), { paused: true, reason: 'ACW' }, 'paused in the queue with reason ACW')

  // A caller now must reach the other agent, never the one in ACW.
  const second = await s.call('0811000202')
  t.equal(second.agentId, other(first.agentId), 'the next caller goes to the other agent')

  // Both busy or in ACW: a third caller waits, then reaches the first agent once ACW is over.
  await placeCall(s.admin, '0811000203')
  await new Promise(resolve => setTimeout(resolve, 1000))
  const queue = await s.admin.list('QueueStatus', { Queue: 'pln123' })
  t.ok(queue.items.some(i => i.event === 'QueueEntry' && i.fields.calleridnum === '0811000203'), 'the third caller waits in the queue')
  t.notOk(s.svc.tracker.liveCalls().some(c => c.callerIdNum === '0811000203' && c.state === 'connected'), 'and is not given to the agent in ACW')
  const third = await waitFor('third caller connected', () => s.svc.tracker.liveCalls().find(c => c.callerIdNum === '0811000203' && c.state === 'connected'), (ACW_SECONDS + 8) * 1000)
  t.equal(third.agentId, first.agentId, 'after ACW the agent receives the next call')
  t.ok(Date.now() >= Date.parse(agent.body.acwEndsAt) - 50, 'not before the ACW deadline')
  const ended = s.svc.tracker.get(third.callId)
  t.same(await memberPause(s.admin, first.agentId), { paused: false, reason: '' }, 'unpaused at the deadline')

  // A plain hangup puts the agent in ACW too.
  await s.admin.action('Hangup', { Channel: ended?.customerChannel ?? '' })
  await waitFor('ACW after hangup', () => s.svc.acw.endsAt(first.agentId))
  await waitFor('paused after hangup', () => s.svc.tracker.agentStatus(first.agentId)?.pausedReason === 'ACW' ? true : undefined)
  const afterHangup = await memberPause(s.admin, first.agentId)
  t.same(afterHangup, { paused: true, reason: 'ACW' }, 'paused with reason ACW after a hangup')
  const h = await s.http('GET', `/v1/agents/${first.agentId}`, TOKENS.supervisor)
  t.equal(h.body.state, 'acw')

  const audit = await s.http('GET', '/v1/audit', TOKENS.supervisor)
  t.ok(audit.body.entries.some((e: { action: string }) => e.action === 'call.direct-transfer'), 'the transfer is in the audit trail')
  await s.admin.action('Hangup', { Channel: s.svc.tracker.get(second.callId)?.customerChannel ?? '' })
})

for (const engine of ENGINES) t.test(`${engine}: Asterisk restart during ACW: the pause is re-applied and released at the original deadline`, async t => {
  const env = await storeEnv(t, engine)
  if (env === undefined) return
  const s = await startStack(t, raw => { raw.acw = { seconds: 6, mode: 'fixed' } }, env)
  const c = await s.call('0811000301')
  await s.admin.action('Hangup', { Channel: s.svc.tracker.get(c.callId)?.customerChannel ?? '' })
  const endsAt = await waitFor('ACW', () => s.svc.acw.endsAt(c.agentId))
  await waitFor('paused', () => s.svc.tracker.agentStatus(c.agentId)?.pausedReason === 'ACW')

  const connects = s.svc.ami.status().connects
  await s.sb.restart()
  await waitFor('service reconnected', () => s.svc.ami.status().connects > connects, 15_000)
  const { client: admin } = await sandboxClient(t, s.sb, ADMIN_USER)
  const again = await eventually('the pause re-applied in the restarted Asterisk', async () => { const p = await memberPause(admin, c.agentId); return p.paused ? p : undefined }, 5000)
  t.same(again, { paused: true, reason: 'ACW' }, 'paused again in the restarted Asterisk')
  t.equal(s.svc.acw.endsAt(c.agentId), endsAt, 'same deadline')
  await waitFor('ACW over', () => s.svc.acw.endsAt(c.agentId) === undefined ? true : undefined, 10_000)
  t.same(await memberPause(admin, c.agentId), { paused: false, reason: '' }, 'unpaused at the deadline')
})

t.test('early exit and supervisor controls through the API', async t => {
  const s = await startStack(t, raw => { raw.acw = { seconds: 300, mode: 'early-exit' } })
  const c = await s.call('0811000401')
  await s.admin.action('Hangup', { Channel: s.svc.tracker.get(c.callId)?.customerChannel ?? '' })
  await waitFor('ACW', () => s.svc.acw.endsAt(c.agentId))
  const ext = await s.http('POST', `/v1/agents/${c.agentId}/acw`, TOKENS.supervisor, { extendSeconds: 60 })
  t.equal(ext.status, 200)
  t.equal(ext.body.state, 'acw')
  const wrong = await s.http('POST', `/v1/agents/${c.agentId}/acw/complete`, c.agentId === '1001' ? TOKENS.agent1002 : TOKENS.agent1001)
  t.equal(wrong.status, 403, 'another agent cannot end it')
  const bad = await s.http('POST', `/v1/agents/${c.agentId}/acw`, TOKENS.supervisor, { extendSeconds: 'lots' })
  t.equal(bad.status, 400)
  const done = await s.http('POST', `/v1/agents/${c.agentId}/acw/complete`, c.token)
  t.equal(done.status, 200)
  t.equal(done.body.state, 'ready', 'ready again at once')
  t.same(await memberPause(s.admin, c.agentId), { paused: false, reason: '' })
  const again = await s.http('POST', `/v1/agents/${c.agentId}/acw/complete`, c.token)
  t.equal(again.body.error, 'NOT_IN_ACW')
  const audit = await s.http('GET', '/v1/audit', TOKENS.supervisor)
  t.same(audit.body.entries.filter((e: { action: string }) => e.action.startsWith('acw.')).map((e: { action: string }) => e.action), ['acw.complete', 'acw.extend'])
})
