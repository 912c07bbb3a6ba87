// AMI header injection (CONTRACT.md section 2: asterisk-manager writes values verbatim).
// Every value that can reach an AMI action is tried with CR, LF, CRLF, a whole injected
// Originate and NUL, through every door: API bodies and URLs, CTI events (whose
// channel names become BlindTransfer's Channel), stored data that skipped the API,
// config (directory entries, agent interfaces, credentials) and the adapter itself.
// The assertion is on the bytes the fake Asterisk received.
import t from 'tap'
import { ConfigError, parseConfig } from '../../src/config/load.ts'
import { AmiClient, UnsafeFieldError } from '../../src/ami/index.ts'
import { silentLog } from '../../src/log.ts'
import { TOKENS, baseRawConfig } from '../helpers/config.ts'
import { asteriskWorks, startAppStack } from '../helpers/app-stack.ts'
import { FakeAmi } from '../helpers/fake-ami.ts'
import { makeClient, once } from '../helpers/ami.ts'

const ORIGINATE = '\r\n\r\nAction: Originate\r\nChannel: Local/666@default\r\nApplication: System\r\nData: touch /tmp/pwned\r\n\r\n'
const HOSTILE: Array<[string, (v: string) => string]> = [
  ['CR', v => `${v}\rX`],
  ['LF', v => `${v}\nX`],
  ['CRLF', v => `${v}\r\nX`],
  ['Originate', v => `${v}${ORIGINATE}`],
  ['NUL', v => `${v}\u0000X`]
]

/** Nothing hostile in what the fake Asterisk received after `from`. */
function clean (received: string, from: number): string | undefined {
  const got = received.slice(from)
  if (/originate/i.test(got)) return 'an Originate reached the socket'
  if (got.includes('666') || got.includes('pwned')) return 'injected values reached the socket'
  if (got.includes('\u0000')) return 'a NUL reached the socket'
  if (/\r(?!\n)|(?<!\r)\n/.test(got)) return 'a bare CR or LF reached the socket'
  if (/^X/m.test(got)) return 'an injected line reached the socket'
  return undefined
}

t.test('API bodies, CTI events and URLs: every hostile value -> 400 naming the field, nothing reaches AMI', async t => {
  const s = await startAppStack(t, { handler: asteriskWorks })
  await s.connectedCall('inj-1')
  const from = s.fake.received.length
  const inquiry = (patch: (b: any) => void): unknown => { const b: any = { topic: 'coverage', customer: { name: 'Budi', salutation: 'Bapak', customerId: '5123' }, area: 'Cilincing' }; patch(b); return b }
  const doors: Array<[string, string, string, (v: string) => unknown, RegExp]> = [
    ['customer.name', '/v1/calls/inj-1/inquiry', TOKENS.agent1001, v => inquiry(b => { b.customer.name = v }), /customer\.name/],
    ['customer.customerId', '/v1/calls/inj-1/inquiry', TOKENS.agent1001, v => inquiry(b => { b.customer.customerId = v }), /customer\.customerId/],
    ['area', '/v1/calls/inj-1/inquiry', TOKENS.agent1001, v => inquiry(b => { b.area = v }), /body\.area/],
    ['cti callId', '/v1/cti/events', TOKENS.pbx, v => ({ type: 'call.offered', callId: v }), /callId/],
    ['cti agentId', '/v1/cti/events', TOKENS.pbx, v => ({ type: 'agent.login', agentId: v }), /agentId/],
    ['cti agentChannel (BlindTransfer Channel)', '/v1/cti/events', TOKENS.pbx, v => ({ type: 'call.answered', callId: 'inj-2', agentId: '1002', data: { agentChannel: v } }), /agentChannel/],
    ['cti customerChannel', '/v1/cti/events', TOKENS.pbx, v => ({ type: 'call.offered', callId: 'inj-3', data: { customerChannel: v } }), /customerChannel/],
    ['cti queue', '/v1/cti/events', TOKENS.pbx, v => ({ type: 'call.offered', callId: 'inj-4', data: { queue: v } }), /queue/],
    ['cti callerIdName', '/v1/cti/events', TOKENS.pbx, v => ({ type: 'call.offered', callId: 'inj-5', data: { callerIdName: v } }), /callerIdName/],
    ['cti callerIdNum', '/v1/cti/events', TOKENS.pbx, v => ({ type: 'call.offered', callId: 'inj-6', data: { callerIdNum: v } }), /callerIdNum/],
    ['cti reason', '/v1/cti/events', TOKENS.pbx, v => ({ type: 'call.ended', callId: 'inj-1', data: { reason: v } }), /reason/]
  ]
  for (const [field, url, token, body, named] of doors) {
    for (const [kind, make] of HOSTILE) {
      const r = await s.post(url, token, body(make('PJSIP/1002-1')))
      t.equal(r.status, 400, `${field} with ${kind} -> 400`)
      t.match(r.body?.message, named, `${field} with ${kind}: the field is named`)
    }
  }
  // In a URL: 400 naming the param, or 414 when it is longer than a param may be.
  const refused = (st: number): boolean => st === 400 || st === 414
  for (const [kind, make] of HOSTILE) {
    const enc = encodeURIComponent(make('inj-1'))
    const agent = encodeURIComponent(make('1001'))
    const tries: Array<[string, Promise<{ status: number }>]> = [
      ['callId in the URL', s.get(`/v1/calls/${enc}`, TOKENS.supervisor)],
      ['callId of a transfer', s.post(`/v1/calls/${enc}/direct-transfer`, TOKENS.agent1001, { target: 3 })],
      ['agentId in the URL', s.get(`/v1/agents/${agent}`, TOKENS.supervisor)],
      ['agentId of an ACW change', s.post(`/v1/agents/${agent}/acw`, TOKENS.supervisor, { end: true })]
    ]
    for (const [what, p] of tries) { const st = (await p).status; t.ok(refused(st), `${what} with ${kind} -> refused (${st})`) }
  }
  t.equal((await s.get('/v1/calls/inj-1', TOKENS.supervisor)).body.state, 'connected', 'the call is untouched')
  await s.svc.ami.action('Ping') // a round trip: everything written before it has arrived
  t.equal(clean(s.fake.received, from), undefined, 'the socket saw nothing hostile')
})

t.test('customer data is stored, never sent: a one-line name that reads like AMI goes nowhere near the socket', async t => {
  const s = await startAppStack(t, { handler: asteriskWorks })
  await s.connectedCall('inj-7')
  const from = s.fake.received.length
  const name = 'Budi Action: Originate Channel: Local/666@default'
  const inq = await s.post('/v1/calls/inj-7/inquiry', TOKENS.agent1001, { topic: 'activation', customer: { name, salutation: 'Bapak', customerId: 'X-666' } })
  t.equal(inq.status, 200, 'accepted: it is one line of text')
  t.match(inq.body.script, name, 'and used where it belongs, in the script')
  t.equal((await s.post('/v1/calls/inj-7/consent', TOKENS.agent1001, { accepted: true })).status, 200)
  const tr = await s.post('/v1/calls/inj-7/direct-transfer', TOKENS.agent1001, { target: 3 })
  t.equal(tr.status, 200, 'the transfer went through')
  const sent = s.fake.actionsNamed('BlindTransfer')
  t.equal(sent.length, 1)
  t.same([sent[0]?.headers.channel, sent[0]?.headers.context, sent[0]?.headers.exten], ['Local/1001@agents-inj-7;1', 'direct-transfer', '3'], 'only the agent leg and the directory entry')
  await s.svc.ami.action('Ping')
  const got = s.fake.received.slice(from)
  t.notOk(/originate|666|budi/i.test(got), 'no customer data reached the socket')
})

t.test('stored data that skipped the API (a tampered row) is refused by the adapter\'s guard, and the call recovers', async t => {
  const s = await startAppStack(t, { handler: asteriskWorks })
  for (const [kind, make] of HOSTILE) {
    const callId = `inj-row-${kind}`
    await s.connectedCall(callId)
    await s.post(`/v1/calls/${callId}/inquiry`, TOKENS.agent1001, { topic: 'activation', customer: { name: 'Budi', salutation: 'Bapak' } })
    await s.post(`/v1/calls/${callId}/consent`, TOKENS.agent1001, { accepted: true })
    s.svc.tracker.lifecycle.replaceAgentLeg(callId, make('PJSIP/1001-1'))
    const from = s.fake.received.length
    const r = await s.post(`/v1/calls/${callId}/direct-transfer`, TOKENS.agent1001, { target: 3 })
    t.ok(r.status >= 400, `a tampered agent channel with ${kind}: the transfer is refused (${r.status} ${r.body?.error})`)
    const after = await s.get(`/v1/calls/${callId}`, TOKENS.supervisor)
    t.equal(after.body.state, 'connected', 'the call is back with the agent, not stuck transferring')
    t.equal(after.body.transfer?.status, 'failed')
    await s.svc.ami.action('Ping')
    t.equal(clean(s.fake.received, from), undefined, `${kind}: nothing hostile reached the socket`)
    t.equal(s.fake.actionsNamed('BlindTransfer').length, 0, 'no BlindTransfer was written at all')
    await s.post('/v1/cti/events', TOKENS.pbx, { type: 'call.ended', callId })
  }
})

t.test('config: directory entries, agent interfaces, pause reason and AMI credentials refuse CR, LF and NUL, naming the key', async t => {
  const doors: Array<[string, (raw: Record<string, any>, v: string) => void]> = [
    ['directory[0].name', (r, v) => { r.directory[0].name = v }],
    ['directory[0].context', (r, v) => { r.directory[0].context = v }],
    ['directory[0].exten', (r, v) => { r.directory[0].exten = v }],
    ['agents[0].interface', (r, v) => { r.agents[0].interface = v }],
    ['agents[0].queues[0]', (r, v) => { r.agents[0].queues[0] = v }],
    ['agents[0].unit', (r, v) => { r.agents[0].unit = v }],
    ['acw.pauseReason', (r, v) => { r.acw.pauseReason = v }],
    ['ami.username', (r, v) => { r.ami.username = v }],
    ['ami.secret', (r, v) => { r.ami.secret = v }],
    ['ami.events', (r, v) => { r.ami.events = v }],
    ['apkt.token', (r, v) => { r.apkt.token = v }]
  ]
  for (const [key, set] of doors) {
    for (const [kind, make] of HOSTILE) {
      const raw = baseRawConfig(5038)
      const value = make('s3cr3t-value')
      set(raw, value)
      const err = (() => { try { parseConfig(raw); return undefined } catch (e) { return e } })()
      t.type(err, ConfigError, `${key} with ${kind} is refused`)
      t.ok((err as ConfigError).problems.some(p => p.startsWith(key)), `${key} with ${kind}: the key is named`)
      t.notOk((err as Error).message.includes('s3cr3t-value'), `${key} with ${kind}: the value is not echoed`)
    }
  }
  const viaEnv = (() => { try { parseConfig(baseRawConfig(5038), { CTI_AMI_SECRET: `x${ORIGINATE}` }); return undefined } catch (e) { return e as ConfigError } })()
  t.ok(viaEnv?.problems.some(p => p.startsWith('ami.secret')), 'CTI_AMI_SECRET with an injected action is refused too')
})

t.test('the adapter: credentials and every field of the service\'s own actions are guarded before any byte is written', async t => {
  const fake = await FakeAmi.start()
  t.teardown(() => fake.stop())
  for (const [kind, make] of HOSTILE) {
    t.throws(() => new AmiClient({ host: '127.0.0.1', port: fake.port, username: make('cti'), secret: 's', actionTimeoutMs: 100, connectTimeoutMs: 100, pingIntervalMs: 1000, reconnect: { initialMs: 10, maxMs: 10 }, logger: silentLog }), UnsafeFieldError, `username with ${kind}`)
    t.throws(() => new AmiClient({ host: '127.0.0.1', port: fake.port, username: 'cti', secret: make('s'), actionTimeoutMs: 100, connectTimeoutMs: 100, pingIntervalMs: 1000, reconnect: { initialMs: 10, maxMs: 10 }, logger: silentLog }), UnsafeFieldError, `secret with ${kind}`)
  }
  t.equal(fake.connections, 0, 'no connection was even opened with bad credentials')

  const { client } = makeClient(fake.port)
  t.teardown(() => client.close())
  const connected = once(client, 'connected')
  client.start()
  await connected
  const from = fake.received.length
  for (const [kind, make] of HOSTILE) {
    const v = make('PJSIP/1001-1')
    await t.rejects(client.action('BlindTransfer', { Channel: v, Context: 'direct-transfer', Exten: '3' }), UnsafeFieldError, `BlindTransfer Channel with ${kind}`)
    await t.rejects(client.action('BlindTransfer', { Channel: 'PJSIP/1001-1', Context: make('direct-transfer'), Exten: '3' }), UnsafeFieldError, `BlindTransfer Context with ${kind}`)
    await t.rejects(client.action('BlindTransfer', { Channel: 'PJSIP/1001-1', Context: 'direct-transfer', Exten: make('3') }), UnsafeFieldError, `BlindTransfer Exten with ${kind}`)
    await t.rejects(client.action('QueuePause', { Interface: make('PJSIP/1001'), Paused: 'true' }), UnsafeFieldError, `QueuePause Interface with ${kind}`)
    await t.rejects(client.action('QueuePause', { Interface: 'PJSIP/1001', Paused: 'true', Reason: make('ACW') }), UnsafeFieldError, `QueuePause Reason with ${kind}`)
    await t.rejects(client.list('QueueStatus', { Queue: make('pln123') }), UnsafeFieldError, `QueueStatus Queue with ${kind}`)
  }
  await client.action('Ping')
  t.equal(clean(fake.received, from), undefined, 'nothing hostile reached the socket')
  t.equal(fake.actionsNamed('BlindTransfer').length + fake.actionsNamed('QueuePause').length + fake.actionsNamed('QueueStatus').length, 0, 'no refused action was written at all')
})
