// The heart of the routing issue, on the real sandbox: a caller reaches an agent, the
// agent classifies, reads the exact script, records consent and presses transfer; the
// customer (not the agent) arrives at 3@direct-transfer.
import t from 'tap'
import { TOKENS } from '../helpers/config.ts'
import { waitFor } from '../helpers/ami.ts'
import { ENGINES, storeEnv } from '../helpers/engines.ts'
import { startStack } from './harness.ts'

const ACTIVATION_BAPAK_BUDI = 'Baik Bapak Budi, mohon maaf saat ini Bapak terhubung dengan Contact Center PLN 123 Ketenagalistrikan, untuk informasi ICONNET, Bapak akan kami sambungkan ke Contact Center ICONNET, mohon ditunggu ya Pak?'

for (const engine of ENGINES) t.test(`${engine}: direct transfer on a real Asterisk`, async t => {
  const env = await storeEnv(t, engine)
  if (env === undefined) return
  const s = await startStack(t, () => {}, env)
  const budi = { name: 'Budi', salutation: 'Bapak' }

  await t.test('activation: script, consent, transfer; the customer reaches ICONNET, the agent is freed', async t => {
    const { callId, agentId, token } = await s.call('0811222333')
    const before = s.svc.tracker.get(callId)
    t.equal(before?.state, 'connected')
    t.match(before?.agentChannel, new RegExp(`^Local/${agentId}@agents-[0-9a-f]+;1$`), 'agent leg from AgentConnect')

    const mine = await s.http('GET', `/v1/agents/${agentId}/call`, token)
    t.equal(mine.status, 200)
    t.equal(mine.body.callId, callId, 'the agent finds its call')

    const inquiry = await s.http('POST', `/v1/calls/${callId}/inquiry`, token, { topic: 'activation', customer: budi })
    t.equal(inquiry.status, 200)
    t.equal(inquiry.body.script, ACTIVATION_BAPAK_BUDI, 'the exact script of the contract')
    t.equal(inquiry.body.action, 'transfer')
    t.equal(inquiry.body.apkt.permasalahan, 'ICONNET : TRANSFER CALL')

    const consent = await s.http('POST', `/v1/calls/${callId}/consent`, token, { accepted: true })
    t.equal(consent.status, 200)

    const press = await s.http('POST', `/v1/calls/${callId}/direct-transfer`, token, { target: 3 })
    t.equal(press.status, 200, JSON.stringify(press.body))
    t.equal(press.body.transfer.status, 'completed')
    t.equal(press.body.transfer.target, 3)

    const arrived = await waitFor('the customer at 3@direct-transfer', () => s.pbxEvents.find(e => e.event === 'UserEvent' && e.fields.userevent === 'IconnetArrived' && e.fields.linkedid === callId))
    t.equal(arrived.fields.calleridnum, '0811222333', 'it is the customer who arrived, by caller id')
    t.match(arrived.fields.channel, /^Local\/s@caller-/, 'the customer\'s channel, not the agent\'s')

    const bt = s.sent.filter(a => a.name === 'BlindTransfer')
    t.equal(bt.length, 1)
    t.equal(bt[0]?.fields.Channel, before?.agentChannel, 'BlindTransfer names the agent\'s leg as Channel')
    t.same([bt[0]?.fields.Context, bt[0]?.fields.Exten], ['direct-transfer', '3'])

    const live = await s.admin.list('CoreShowChannels')
    t.notOk(live.items.some(i => i.fields.channel === before?.agentChannel), 'the agent\'s leg is gone')
    const view = await s.http('GET', `/v1/calls/${callId}`, TOKENS.supervisor)
    t.equal(view.body.state, 'transferred')
    t.equal(view.body.transfer.status, 'completed')
    const agent = await s.http('GET', `/v1/agents/${agentId}`, TOKENS.supervisor)
    t.not(agent.body.state, 'on_call', 'the agent is no longer on the call')
    await s.admin.action('Hangup', { Channel: arrived.fields.channel })
  })

  await t.test('no consent: 409 CONSENT_REQUIRED and no AMI action', async t => {
    const { callId, token } = await s.call('0811000101')
    await s.http('POST', `/v1/calls/${callId}/inquiry`, token, { topic: 'disruption', customer: { name: 'Sari', salutation: 'Ibu' } })
    const sentBefore = s.sent.length
    const press = await s.http('POST', `/v1/calls/${callId}/direct-transfer`, token, { target: 3 })
    t.equal(press.status, 409)
    t.equal(press.body.error, 'CONSENT_REQUIRED')
    const declined = await s.http('POST', `/v1/calls/${callId}/consent`, token, { accepted: false })
    t.equal(declined.status, 200)
    const again = await s.http('POST', `/v1/calls/${callId}/direct-transfer`, token, { target: 3 })
    t.equal(again.body.error, 'CONSENT_REQUIRED')
    t.match(again.body.message, /declined/)
    t.equal(s.sent.slice(sentBefore).filter(a => a.name === 'BlindTransfer').length, 0, 'nothing sent to Asterisk')
    t.equal(s.svc.tracker.get(callId)?.state, 'connected', 'the customer is still with the agent')
    await s.admin.action('Hangup', { Channel: s.svc.tracker.get(callId)?.customerChannel ?? '' })
  })

  await t.test('billing is not transferable: 409 NOT_TRANSFERABLE', async t => {
    const { callId, token } = await s.call('0811000102')
    const inq = await s.http('POST', `/v1/calls/${callId}/inquiry`, token, { topic: 'billing', customer: budi, subscribedViaPlnMobile: false })
    t.equal(inq.body.action, 'educate')
    t.ok(inq.body.guidance.some((g: string) => g.includes('iconnet@iconpln.co.id')), 'e-mail path in guidance')
    await s.http('POST', `/v1/calls/${callId}/consent`, token, { accepted: true })
    const sentBefore = s.sent.length
    const press = await s.http('POST', `/v1/calls/${callId}/direct-transfer`, token, { target: 3 })
    t.equal(press.status, 409)
    t.equal(press.body.error, 'NOT_TRANSFERABLE')
    t.equal(s.sent.slice(sentBefore).filter(a => a.name === 'BlindTransfer').length, 0)
    await s.admin.action('Hangup', { Channel: s.svc.tracker.get(callId)?.customerChannel ?? '' })
  })

  await t.test('two concurrent presses: exactly one BlindTransfer, the second gets the first\'s result', async t => {
    const { callId, token } = await s.call('0811000103')
    await s.http('POST', `/v1/calls/${callId}/inquiry`, token, { topic: 'activation', customer: budi })
    await s.http('POST', `/v1/calls/${callId}/consent`, token, { accepted: true })
    const sentBefore = s.sent.length
    const [a, b] = await Promise.all([
      s.http('POST', `/v1/calls/${callId}/direct-transfer`, token, { target: 3 }),
      s.http('POST', `/v1/calls/${callId}/direct-transfer`, token, { target: 3 })
    ])
    t.same([a.status, b.status].sort(), [200, 409])
    const second = a.status === 409 ? a : b
    const first = a.status === 200 ? a : b
    t.equal(second.body.error, 'ALREADY_TRANSFERRED')
    t.same(second.body.transfer, first.body.transfer, 'the second press returns the first transfer\'s result')
    const third = await s.http('POST', `/v1/calls/${callId}/direct-transfer`, token, { target: 3 })
    t.equal(third.body.error, 'ALREADY_TRANSFERRED', 'a retry later is refused the same way')
    t.equal(s.sent.slice(sentBefore).filter(a => a.name === 'BlindTransfer').length, 1, 'one BlindTransfer in all')
    const arrived = await waitFor('arrival', () => s.pbxEvents.find(e => e.event === 'UserEvent' && e.fields.linkedid === callId))
    await s.admin.action('Hangup', { Channel: arrived.fields.channel })
  })

  await t.test('after the customer hung up: a clear 409, never a transfer of someone else', async t => {
    const { callId, token } = await s.call('0811000104')
    await s.http('POST', `/v1/calls/${callId}/inquiry`, token, { topic: 'activation', customer: budi })
    await s.http('POST', `/v1/calls/${callId}/consent`, token, { accepted: true })
    await s.admin.action('Hangup', { Channel: s.svc.tracker.get(callId)?.customerChannel ?? '' })
    await waitFor('call ended', () => s.svc.tracker.get(callId)?.state === 'ended')
    // Someone else is on the line with an agent meanwhile.
    const other = await s.call('0811000105')
    const sentBefore = s.sent.length
    const press = await s.http('POST', `/v1/calls/${callId}/direct-transfer`, token, { target: 3 })
    t.equal(press.status, 409)
    t.equal(press.body.error, 'CALL_NOT_CONNECTED')
    t.match(press.body.message, /is ended \((caller|agent) hung up\)/, 'says the call ended and why')
    t.equal(s.sent.slice(sentBefore).filter(a => a.name === 'BlindTransfer').length, 0)
    t.equal(s.svc.tracker.get(other.callId)?.state, 'connected', 'the other caller is untouched')
    await s.admin.action('Hangup', { Channel: s.svc.tracker.get(other.callId)?.customerChannel ?? '' })
  })

  await t.test('an agent cannot act on another agent\'s call', async t => {
    const { callId, agentId } = await s.call('0811000106')
    const otherToken = agentId === '1001' ? TOKENS.agent1002 : TOKENS.agent1001
    const r = await s.http('POST', `/v1/calls/${callId}/inquiry`, otherToken, { topic: 'activation', customer: budi })
    t.equal(r.status, 403)
    const read = await s.http('GET', `/v1/calls/${callId}`, otherToken)
    t.equal(read.status, 403)
    await s.admin.action('Hangup', { Channel: s.svc.tracker.get(callId)?.customerChannel ?? '' })
  })
})
