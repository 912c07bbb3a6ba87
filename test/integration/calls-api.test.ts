// The calls API with CTI events from the PBX and a fake AMI for the answers Asterisk
// cannot be made to give on demand (a refused transfer, a Result: Fail, silence).
import t, { type Test } from 'tap'
import pino from 'pino'
import { createService, type Service } from '../../src/service.ts'
import { FakeAmi, type Handler } from '../helpers/fake-ami.ts'
import { TOKENS, testConfig } from '../helpers/config.ts'
import { waitFor } from '../helpers/ami.ts'

async function stack (t: Test, handler?: Handler): Promise<{ svc: Service, fake: FakeAmi, post: (url: string, token: string, body: unknown) => Promise<{ status: number, body: any }>, get: (url: string, token: string) => Promise<{ status: number, body: any }> }> {
  const fake = await FakeAmi.start(handler !== undefined ? { handler } : {})
  const svc = await createService(testConfig(fake.port, raw => { raw.ami.actionTimeoutMs = 500 }), pino({ level: 'silent' }))
  t.teardown(async () => { await svc.stop(); await fake.stop() })
  await svc.start()
  await waitFor('AMI', () => svc.ami.ready)
  const post = async (url: string, token: string, body: unknown) => {
    const r = await svc.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${token}` }, payload: body as object })
    return { status: r.statusCode, body: r.json() }
  }
  const get = async (url: string, token: string) => {
    const r = await svc.app.inject({ url, headers: { authorization: `Bearer ${token}` } })
    return { status: r.statusCode, body: r.json() }
  }
  return { svc, fake, post, get }
}

async function connectedCall (post: Awaited<ReturnType<typeof stack>>['post'], callId: string, agentChannel?: string): Promise<void> {
  await post('/v1/cti/events', TOKENS.pbx, { type: 'call.offered', callId, data: { callerIdNum: '0811', customerChannel: `PJSIP/trunk-${callId}` } })
  await post('/v1/cti/events', TOKENS.pbx, { type: 'call.answered', callId, agentId: '1001', data: agentChannel !== undefined ? { agentChannel } : {} })
}

async function readyToTransfer (post: Awaited<ReturnType<typeof stack>>['post'], callId: string): Promise<void> {
  await post(`/v1/calls/${callId}/inquiry`, TOKENS.agent1001, { topic: 'activation', customer: { name: 'Budi', salutation: 'Bapak' } })
  await post(`/v1/calls/${callId}/consent`, TOKENS.agent1001, { accepted: true })
}

/** Answers BlindTransfer like Asterisk: the response, then the BlindTransfer event. */
const asterisk = (result: 'Success' | 'Fail' | 'silent' | 'refuse'): Handler => (a, sock) => {
  if (a.headers.action !== 'BlindTransfer') return false
  const id = a.headers.actionid ?? ''
  if (result === 'refuse') { sock.write(`Response: Error\r\nActionID: ${id}\r\nMessage: No such channel\r\n\r\n`); return true }
  sock.write(`Response: Success\r\nActionID: ${id}\r\nMessage: Transfer succeeded\r\n\r\n`)
  if (result !== 'silent') sock.write(`Event: BlindTransfer\r\nResult: ${result}\r\nTransfererChannel: ${a.headers.channel ?? ''}\r\nTransfereeChannel: PJSIP/trunk-x\r\nContext: ${a.headers.context ?? ''}\r\nExtension: ${a.headers.exten ?? ''}\r\n\r\n`)
  return true
}

t.test('CTI events drive call and agent state', async t => {
  const { post, get } = await stack(t)
  const offered = await post('/v1/cti/events', TOKENS.pbx, { type: 'call.offered', callId: 'cti-1', data: { callerIdNum: '0811777' } })
  t.equal(offered.status, 202)
  t.same(offered.body.call, { callId: 'cti-1', state: 'offered' })
  // Nobody's call yet (a softphone can know of the answer before the service does):
  // "not connected yet", to retry, rather than 403.
  const early = await get('/v1/calls/cti-1', TOKENS.agent1001)
  t.equal(early.status, 409)
  t.match(early.body, { error: 'CALL_NOT_CONNECTED', message: /is offered: not connected to an agent yet/ })
  await post('/v1/cti/events', TOKENS.pbx, { type: 'call.answered', callId: 'cti-1', agentId: '1001', data: { agentChannel: 'Local/1001@agents-00000001;1' } })
  t.equal((await get('/v1/calls/cti-1', TOKENS.agent1001)).status, 200, 'once answered: the agent\'s own call')
  t.equal((await get('/v1/calls/cti-1', TOKENS.agent1002)).status, 403, 'and another agent\'s is refused')
  const agent = await get('/v1/agents/1001', TOKENS.supervisor)
  t.same(agent.body, { id: '1001', state: 'on_call', callId: 'cti-1', paused: false, loggedOut: false, interface: 'Local/1001@agents/n' })
  const own = await get('/v1/agents/1001/call', TOKENS.agent1001)
  t.equal(own.body.callerIdNum, '0811777')
  t.equal((await get('/v1/agents/1002/call', TOKENS.agent1001)).status, 403, 'not another agent\'s')
  t.equal((await get('/v1/agents/1002/call', TOKENS.supervisor)).status, 404, 'no call')
  const ended = await post('/v1/cti/events', TOKENS.pbx, { type: 'call.ended', callId: 'cti-1', data: { reason: 'caller hung up' } })
  t.same(ended.body.call, { callId: 'cti-1', state: 'ended' })
  t.not((await get('/v1/agents/1001', TOKENS.supervisor)).body.state, 'on_call')
  await post('/v1/cti/events', TOKENS.pbx, { type: 'agent.logout', agentId: '1002' })
  t.equal((await get('/v1/agents/1002', TOKENS.supervisor)).body.state, 'offline')
  await post('/v1/cti/events', TOKENS.pbx, { type: 'agent.login', agentId: '1002' })
  t.equal((await get('/v1/agents/1002', TOKENS.supervisor)).body.state, 'ready')
})

t.test('CTI events: bad input is refused with the field named', async t => {
  const { post } = await stack(t)
  const noAgent = await post('/v1/cti/events', TOKENS.pbx, { type: 'call.answered', callId: 'x1' })
  t.equal(noAgent.status, 400)
  t.match(noAgent.body.message, /body\.agentId/)
  const badChannel = await post('/v1/cti/events', TOKENS.pbx, { type: 'call.offered', callId: 'x2', data: { customerChannel: 'PJSIP/a\r\nAction: Originate' } })
  t.equal(badChannel.status, 400)
  t.match(badChannel.body.message, /customerChannel/)
  const unknownField = await post('/v1/cti/events', TOKENS.pbx, { type: 'call.offered', callId: 'x3', extra: 1 })
  t.equal(unknownField.status, 400)
  t.match(unknownField.body.message, /extra/)
  t.equal((await post('/v1/cti/events', TOKENS.pbx, { type: 'agent.login', agentId: '9999' })).status, 404)
  t.equal((await post('/v1/cti/events', TOKENS.pbx, { type: 'call.ended', callId: 'never' })).status, 404)
  t.equal((await post('/v1/cti/events', TOKENS.agent1001, { type: 'agent.login', agentId: '1001' })).status, 403, 'agents cannot post PBX events')
})

t.test('inquiry: coverage needs an area; billing guidance follows the PLN Mobile answer', async t => {
  const { post } = await stack(t)
  await connectedCall(post, 'c-1', 'Local/1001@agents-1;1')
  const noArea = await post('/v1/calls/c-1/inquiry', TOKENS.agent1001, { topic: 'coverage', customer: { name: 'Budi', salutation: 'Bapak' } })
  t.equal(noArea.status, 400)
  t.equal(noArea.body.error, 'MISSING_FACT')
  t.equal(noArea.body.field, 'area')
  const cov = await post('/v1/calls/c-1/inquiry', TOKENS.agent1001, { topic: 'coverage', customer: { name: 'Budi', salutation: 'Bapak' }, area: 'Cilincing Jakarta Utara' })
  t.equal(cov.body.apkt.permasalahan, 'ICONNET : INFO CAKUPAN AREA DI WILAYAH CILINCING JAKARTA UTARA, TELAH DIJELASKAN SESUAI KETENTUAN. PELANGGAN MENGERTI')
  t.equal(cov.body.action, 'educate')
  const viaApp = await post('/v1/calls/c-1/inquiry', TOKENS.agent1001, { topic: 'billing', customer: { name: 'Sari', salutation: 'Ibu' }, subscribedViaPlnMobile: true })
  const viaMail = await post('/v1/calls/c-1/inquiry', TOKENS.agent1001, { topic: 'billing', customer: { name: 'Sari', salutation: 'Ibu' }, subscribedViaPlnMobile: false })
  t.ok(viaApp.body.guidance.join(' ').includes('PLN Mobile'))
  t.notOk(viaApp.body.guidance.join(' ').includes('iconnet@iconpln.co.id'), 'no e-mail path for a PLN Mobile subscriber')
  t.ok(viaMail.body.guidance.join(' ').includes('iconnet@iconpln.co.id'), 'e-mail path otherwise')
  const bad = await post('/v1/calls/c-1/inquiry', TOKENS.agent1001, { topic: 'billing', customer: { name: 'Sari\nX', salutation: 'Nyonya' } })
  t.equal(bad.status, 400)
  t.match(bad.body.message, /customer/)
  t.equal((await post('/v1/calls/nope/inquiry', TOKENS.agent1001, { topic: 'billing', customer: { name: 'A', salutation: 'Ibu' } })).status, 404)
})

t.test('transfer: Asterisk refuses -> 502 with its message, the call stays with the agent, a retry works', async t => {
  let mode: Parameters<typeof asterisk>[0] = 'refuse'
  const { post, get, fake } = await stack(t, (a, s, f) => asterisk(mode)(a, s, f))
  await connectedCall(post, 'r-1', 'Local/1001@agents-2;1')
  await readyToTransfer(post, 'r-1')
  const refused = await post('/v1/calls/r-1/direct-transfer', TOKENS.agent1001, { target: 3 })
  t.equal(refused.status, 502)
  t.equal(refused.body.error, 'TRANSFER_FAILED')
  t.match(refused.body.message, /No such channel/)
  const after = await get('/v1/calls/r-1', TOKENS.supervisor)
  t.equal(after.body.state, 'connected')
  t.equal(after.body.transfer.status, 'failed')
  mode = 'Success'
  const ok = await post('/v1/calls/r-1/direct-transfer', TOKENS.agent1001, { target: 3 })
  t.equal(ok.status, 200)
  const sent = fake.actionsNamed('BlindTransfer')
  t.equal(sent.length, 2)
  t.same([sent[1]?.headers.channel, sent[1]?.headers.context, sent[1]?.headers.exten], ['Local/1001@agents-2;1', 'direct-transfer', '3'])
})

t.test('transfer: Result: Fail -> 502; no confirmation -> 409 outcome unknown; AMI down -> 503', async t => {
  let mode: Parameters<typeof asterisk>[0] = 'Fail'
  const { post, fake, svc } = await stack(t, (a, s, f) => asterisk(mode)(a, s, f))
  await connectedCall(post, 'f-1', 'Local/1001@agents-3;1')
  await readyToTransfer(post, 'f-1')
  const failed = await post('/v1/calls/f-1/direct-transfer', TOKENS.agent1001, { target: 3 })
  t.equal(failed.status, 502)
  t.match(failed.body.message, /reported the blind transfer as Fail/)
  mode = 'silent'
  const silent = await post('/v1/calls/f-1/direct-transfer', TOKENS.agent1001, { target: 3 })
  t.equal(silent.status, 409)
  t.equal(silent.body.error, 'TRANSFER_OUTCOME_UNKNOWN')
  t.match(silent.body.message, /did not confirm it within 500 ms; outcome unknown/)
  await connectedCall(post, 'f-2', 'Local/1001@agents-4;1')
  await readyToTransfer(post, 'f-2')
  const lost = new Promise(resolve => svc.ami.once('disconnected', resolve))
  await fake.stop()
  await lost
  const down = await post('/v1/calls/f-2/direct-transfer', TOKENS.agent1001, { target: 3 })
  t.equal(down.status, 503)
  t.equal(down.body.error, 'AMI_UNAVAILABLE')
  // The call keeps what its agent and the dashboard may see: not the AMI host, port or user.
  const view = await svc.app.inject({ method: 'GET', url: '/v1/calls/f-2', headers: { authorization: `Bearer ${TOKENS.agent1001}` } })
  const kept = JSON.parse(view.body).transfer?.message as string
  t.match(kept, /not connected to the PBX \(AMI\): BlindTransfer was not sent/, 'the failed attempt is kept in words')
  t.notMatch(kept, /127\.0\.0\.1|:\d{2,5}\b|ECONNREFUSED|user/, `without the session's reason (${kept})`)
})

t.test('transfer: preconditions', async t => {
  const { post, fake } = await stack(t, asterisk('Success'))
  await connectedCall(post, 'p-1')
  await readyToTransfer(post, 'p-1')
  const noLeg = await post('/v1/calls/p-1/direct-transfer', TOKENS.agent1001, { target: 3 })
  t.equal(noLeg.status, 409)
  t.equal(noLeg.body.error, 'AGENT_LEG_UNKNOWN')
  await connectedCall(post, 'p-2', 'Local/1001@agents-9;1')
  const noInquiry = await post('/v1/calls/p-2/direct-transfer', TOKENS.agent1001, { target: 3 })
  t.equal(noInquiry.body.error, 'INQUIRY_REQUIRED')
  await readyToTransfer(post, 'p-2')
  const wrongTarget = await post('/v1/calls/p-2/direct-transfer', TOKENS.agent1001, { target: 7 })
  t.equal(wrongTarget.status, 409)
  t.match(wrongTarget.body.message, /entry 3, not 7/)
  const badBody = await post('/v1/calls/p-2/direct-transfer', TOKENS.agent1001, { target: '3' })
  t.equal(badBody.status, 400, 'a string is not a number')
  const otherAgent = await post('/v1/calls/p-2/direct-transfer', TOKENS.agent1002, { target: 3 })
  t.equal(otherAgent.status, 403)
  const supervisor = await post('/v1/calls/p-2/direct-transfer', TOKENS.supervisor, { target: 3 })
  t.equal(supervisor.status, 403, 'the transfer button is the agent\'s')
  t.equal(fake.actionsNamed('BlindTransfer').length, 0, 'none of these reached Asterisk')
})

t.test('CTI call.answered: an agentChannel that is not a leg of the agent\'s device is refused, naming the field', async t => {
  const { post, get, fake, svc } = await stack(t, asterisk('Success'))
  await post('/v1/cti/events', TOKENS.pbx, { type: 'call.offered', callId: 'fg-1', data: { callerIdNum: '0811', customerChannel: 'PJSIP/trunk-fg-1' } })
  // The customer's own channel: a BlindTransfer of it would send the agent to ICONNET
  // and drop the customer.
  const customers = await post('/v1/cti/events', TOKENS.pbx, { type: 'call.answered', callId: 'fg-1', agentId: '1001', data: { agentChannel: 'PJSIP/trunk-fg-1' } })
  t.equal(customers.status, 400)
  t.equal(customers.body.field, 'data.agentChannel')
  t.match(customers.body.message, /data\.agentChannel: PJSIP\/trunk-fg-1 is not a channel of agent 1001/)
  const another = await post('/v1/cti/events', TOKENS.pbx, { type: 'call.answered', callId: 'fg-1', agentId: '1001', data: { agentChannel: 'Local/1002@agents-0000000a;1' } })
  t.equal(another.status, 400, 'another agent\'s leg')
  t.equal(another.body.field, 'data.agentChannel')
  const otherHalf = await post('/v1/cti/events', TOKENS.pbx, { type: 'call.answered', callId: 'fg-1', agentId: '1001', data: { agentChannel: 'Local/1001@agents-0000000b;2' } })
  t.equal(otherHalf.status, 400, 'the ;2 half of the agent\'s Local channel is not the leg bridged with the customer')
  t.equal(svc.tracker.get('fg-1')?.state, 'offered', 'nothing of the refused events was applied')
  t.equal(svc.tracker.get('fg-1')?.agentChannel, undefined)
  const own = await post('/v1/cti/events', TOKENS.pbx, { type: 'call.answered', callId: 'fg-1', agentId: '1001', data: { agentChannel: 'Local/1001@agents-0000000c;1' } })
  t.equal(own.status, 202, 'the agent\'s own leg is taken')
  t.equal((await get('/v1/calls/fg-1', TOKENS.agent1001)).body.state, 'connected')
  await readyToTransfer(post, 'fg-1')
  t.equal((await post('/v1/calls/fg-1/direct-transfer', TOKENS.agent1001, { target: 3 })).status, 200)
  t.same(fake.actionsNamed('BlindTransfer').map(a => a.headers.channel), ['Local/1001@agents-0000000c;1'], 'the BlindTransfer moved the agent leg')
})

t.test('agent leg: AMI\'s DestChannel wins over a CTI event\'s, either order', async t => {
  const { post, fake, svc } = await stack(t, asterisk('Success'))
  const agentConnect = (callId: string, dest: string): string =>
    `Event: AgentConnect\r\nQueue: pln123\r\nChannel: PJSIP/trunk-${callId}\r\nLinkedid: ${callId}\r\nUniqueid: ${callId}\r\nCallerIDNum: 0811\r\nCallerIDName: X\r\nInterface: Local/1001@agents/n\r\nMemberName: 1001\r\nDestChannel: ${dest}\r\nDestLinkedid: ${callId}\r\nHoldTime: 1\r\nRingTime: 1\r\n\r\n`
  // CTI first, then AMI: AMI's leg replaces the CTI one.
  await post('/v1/cti/events', TOKENS.pbx, { type: 'call.offered', callId: 'am-1', data: { customerChannel: 'PJSIP/trunk-am-1' } })
  await post('/v1/cti/events', TOKENS.pbx, { type: 'call.answered', callId: 'am-1', agentId: '1001', data: { agentChannel: 'Local/1001@agents-0000cti1;1' } })
  fake.send(agentConnect('am-1', 'Local/1001@agents-0000ami1;1'))
  await waitFor('AMI leg taken', () => svc.tracker.get('am-1')?.agentChannel === 'Local/1001@agents-0000ami1;1')
  t.pass('AMI after CTI: AMI\'s leg')
  // AMI first, then CTI: the CTI leg does not replace it.
  fake.send(agentConnect('am-2', 'Local/1001@agents-0000ami2;1'))
  await waitFor('AMI call', () => svc.tracker.get('am-2')?.state === 'connected')
  const late = await post('/v1/cti/events', TOKENS.pbx, { type: 'call.answered', callId: 'am-2', agentId: '1001', data: { agentChannel: 'Local/1001@agents-0000cti2;1' } })
  t.equal(late.status, 202)
  t.equal(svc.tracker.get('am-2')?.agentChannel, 'Local/1001@agents-0000ami2;1', 'CTI after AMI: still AMI\'s leg')
  await readyToTransfer(post, 'am-2')
  t.equal((await post('/v1/calls/am-2/direct-transfer', TOKENS.agent1001, { target: 3 })).status, 200)
  t.same(fake.actionsNamed('BlindTransfer').map(a => a.headers.channel), ['Local/1001@agents-0000ami2;1'])
})
