// POST /v1/calls/:callId/wrapup on the real app (createService, SQLite, a fake AMI that
// answers QueuePause like app_queue): who may choose, which codes, when the window is
// open, what a call gets when nobody chose, and that the rule holds across a restart.
import t from 'tap'
import pino from 'pino'
import Database from 'better-sqlite3'
import { createService } from '../../src/service.ts'
import type { LiveMessage } from '../../src/live/feed.ts'
import { asteriskWorks, startAppStack, type AppStack } from '../helpers/app-stack.ts'
import { FakeAmi } from '../helpers/fake-ami.ts'
import { TOKENS, testConfig } from '../helpers/config.ts'
import { eventually, waitFor } from '../helpers/ami.ts'
import { ENGINES, storeEnv } from '../helpers/engines.ts'

const ACW_SECONDS = 2
const CODES = ['SELESAI', 'TRANSFER_ICONNET', 'TINDAK_LANJUT']

const stackWith = async (t: Parameters<typeof startAppStack>[0], acwSeconds = ACW_SECONDS): Promise<AppStack> =>
  await startAppStack(t, { handler: asteriskWorks, edit: raw => { raw.acw = { seconds: acwSeconds, mode: 'fixed' } } })

const wrapupOf = async (s: AppStack, callId: string): Promise<any> => (await s.svc.tracker.find(callId))?.wrapup

const finalOf = async (s: AppStack, callId: string): Promise<any> =>
  await eventually(`call ${callId}'s final wrap-up`, async () => { const w = await wrapupOf(s, callId); return w?.final === true ? w : undefined }, (ACW_SECONDS + 8) * 1000)

const endCall = async (s: AppStack, callId: string): Promise<void> => {
  const r = await s.post('/v1/cti/events', TOKENS.pbx, { type: 'call.ended', callId, data: { reason: 'caller hung up' } })
  if (r.status !== 202) throw new Error(`call.ended: ${r.status} ${r.text}`)
}

t.test('the route: codes listed on a bad one, own call only, a later choice replaces, open during ACW, WRAPUP_CLOSED after; audited, announced, one queue_log line', async t => {
  const s = await stackWith(t)
  const feed: LiveMessage[] = []
  t.teardown(s.svc.feed.subscribe(m => { if (m.type === 'wrapup') feed.push(m) }))
  await s.connectedCall('w-1', '1001')
  const url = '/v1/calls/w-1/wrapup'

  const unknown = await s.post(url, TOKENS.agent1001, { code: 'NGOBROL' })
  t.equal(unknown.status, 400)
  t.equal(unknown.body.error, 'UNKNOWN_WRAPUP_CODE')
  t.same(unknown.body.allowed, CODES, 'the allowed codes, as data')
  t.match(unknown.body.message, /SELESAI, TRANSFER_ICONNET, TINDAK_LANJUT/, 'and in the message')
  const badNote = await s.post(url, TOKENS.agent1001, { code: 'SELESAI', note: 'baris satu\nbaris dua' })
  t.equal(badNote.status, 400)
  t.match(badNote.body.message, /note/)
  t.equal((await s.post(url, TOKENS.agent1001, { code: 'SELESAI', note: 'x'.repeat(201) })).status, 400, 'a note is bounded')
  t.equal((await s.post(url, TOKENS.agent1001, { code: 'SELESAI', extra: 1 })).status, 400, 'unknown fields refused')
  const other = await s.post(url, TOKENS.agent1002, { code: 'SELESAI' })
  t.equal(other.status, 403, 'another agent may not wrap up agent 1001\'s call')
  t.equal((await s.post(url, TOKENS.pbx, { code: 'SELESAI' })).status, 403, 'nor the PBX')
  t.equal((await s.post('/v1/calls/no-such-call/wrapup', TOKENS.supervisor, { code: 'SELESAI' })).status, 404)
  t.equal(await wrapupOf(s, 'w-1'), undefined, 'nothing recorded by the refusals')

  const mine = await s.post(url, TOKENS.agent1001, { code: 'SELESAI', note: 'Pelanggan mengerti' })
  t.equal(mine.status, 200, mine.text)
  t.match(mine.body.wrapup, { code: 'SELESAI', label: 'Selesai dijelaskan', note: 'Pelanggan mengerti', source: 'agent', by: 'agent-1001', final: false })
  t.same((await s.get('/v1/calls/w-1', TOKENS.agent1001)).body.wrapup, mine.body.wrapup, 'on the call view')
  const spv = await s.post(url, TOKENS.supervisor, { code: 'TRANSFER_ICONNET' })
  t.equal(spv.status, 200, 'a supervisor may choose for any call')
  t.match(spv.body.wrapup, { code: 'TRANSFER_ICONNET', by: 'supervisor', source: 'agent' })
  t.notOk('note' in spv.body.wrapup, 'the new choice replaces the old one whole (no old note)')

  await endCall(s, 'w-1')
  await waitFor('ACW', () => s.svc.acw.endsAt('1001'))
  const inAcw = await s.post(url, TOKENS.agent1001, { code: 'TINDAK_LANJUT', note: 'telepon balik' })
  t.equal(inAcw.status, 200, 'still open during the agent\'s ACW for the call')
  t.equal(inAcw.body.wrapup.final, false)

  const final = await finalOf(s, 'w-1')
  t.match(final, { code: 'TINDAK_LANJUT', label: 'Perlu tindak lanjut', note: 'telepon balik', source: 'agent', by: 'agent-1001', final: true }, 'at ACW end: the last choice, final')
  // Final when ACW turns 'ending'; the ACW itself is over once its unpause is confirmed.
  await waitFor('ACW over', () => s.svc.acw.endsAt('1001') === undefined ? true : undefined, (ACW_SECONDS + 8) * 1000)
  const late = await s.post(url, TOKENS.agent1001, { code: 'SELESAI' })
  t.equal(late.status, 409)
  t.equal(late.body.error, 'WRAPUP_CLOSED')
  t.match(late.body.wrapup, { code: 'TINDAK_LANJUT', final: true }, 'the 409 carries the final wrap-up')
  t.equal((await s.post(url, TOKENS.supervisor, { code: 'SELESAI' })).body.error, 'WRAPUP_CLOSED', 'for a supervisor too')
  t.equal((await wrapupOf(s, 'w-1')).code, 'TINDAK_LANJUT', 'unchanged')

  const lines = await waitFor('the queue_log line', () => { const l = s.fake.actionsNamed('QueueLog').filter(a => a.headers.event === 'WRAPUP'); return l.length > 0 ? l : undefined })
  await new Promise(resolve => setTimeout(resolve, 200))
  t.equal(s.fake.actionsNamed('QueueLog').filter(a => a.headers.event === 'WRAPUP').length, 1, 'one line per final wrap-up, not one per choice')
  t.match(lines[0]?.headers, { queue: 'pln123', interface: 'Agent 1001', uniqueid: 'w-1', message: 'TINDAK_LANJUT|agent' }, 'the call, its queue, the agent\'s MemberName, code and source')

  const audit = (await s.get('/v1/audit?limit=100', TOKENS.supervisor)).body.entries as Array<{ action: string, target: string, actor: string, details: any }>
  const mineAudit = audit.filter(e => e.target === 'w-1' && e.action.startsWith('call.wrapup')).reverse()
  t.same(mineAudit.map(e => [e.action, e.actor, e.details.code]), [
    ['call.wrapup', 'agent-1001', 'SELESAI'], ['call.wrapup', 'supervisor', 'TRANSFER_ICONNET'], ['call.wrapup', 'agent-1001', 'TINDAK_LANJUT'], ['call.wrapup.final', 'pln123-cti', 'TINDAK_LANJUT']
  ], 'every choice and the close are audited, nothing for the refusals')
  t.same(feed.map(m => [(m.data as any).code, (m.data as any).final]), [['SELESAI', false], ['TRANSFER_ICONNET', false], ['TINDAK_LANJUT', false], ['TINDAK_LANJUT', true]], 'announced on the live feed (type wrapup)')
  t.match(feed[0]?.data, { callId: 'w-1', agentId: '1001' })
})

t.test('GET /v1/wrapup-codes: the codes and the default, for agents and supervisors', async t => {
  const s = await stackWith(t)
  const r = await s.get('/v1/wrapup-codes', TOKENS.agent1001)
  t.equal(r.status, 200)
  t.same(r.body, { codes: CODES.map(code => ({ code, label: ({ SELESAI: 'Selesai dijelaskan', TRANSFER_ICONNET: 'Ditransfer ke CC ICONNET', TINDAK_LANJUT: 'Perlu tindak lanjut' } as Record<string, string>)[code] })), default: { code: 'TANPA_KODE', label: 'TANPA_KODE' } })
  t.equal((await s.get('/v1/wrapup-codes', TOKENS.supervisor)).status, 200)
  t.equal((await s.get('/v1/wrapup-codes', TOKENS.pbx)).status, 403)
})

t.test('before the answer: 409 CALL_NOT_CONNECTED; a call never answered has no wrap-up', async t => {
  const s = await stackWith(t)
  await s.post('/v1/cti/events', TOKENS.pbx, { type: 'call.offered', callId: 'w-2', data: { callerIdNum: '0811', customerChannel: 'PJSIP/trunk-w-2' } })
  const early = await s.post('/v1/calls/w-2/wrapup', TOKENS.supervisor, { code: 'SELESAI' })
  t.equal(early.status, 409)
  t.equal(early.body.error, 'CALL_NOT_CONNECTED')
  t.equal((await s.post('/v1/calls/w-2/wrapup', TOKENS.agent1001, { code: 'SELESAI' })).body.error, 'CALL_NOT_CONNECTED', 'for an agent too')
  await endCall(s, 'w-2')
  const never = await s.post('/v1/calls/w-2/wrapup', TOKENS.supervisor, { code: 'SELESAI' })
  t.equal(never.body.error, 'WRAPUP_CLOSED', 'ended unanswered: closed for good')
  await new Promise(resolve => setTimeout(resolve, 200))
  t.equal(await wrapupOf(s, 'w-2'), undefined, 'and no default: nothing was wrapped up')
})

t.test('nobody chose: the topic\'s code (transfer topics: TRANSFER_ICONNET), else wrapupDefault', async t => {
  const s = await stackWith(t)
  await s.connectedCall('w-3', '1001')
  await s.connectedCall('w-4', '1002')
  const inq = await s.post('/v1/calls/w-3/inquiry', TOKENS.agent1001, { topic: 'disruption', customer: { name: 'Budi', salutation: 'Bapak' } })
  t.equal(inq.status, 200)
  t.equal(inq.body.wrapupCode, 'TRANSFER_ICONNET', 'the inquiry\'s answer names the topic\'s code (a panel can preselect it)')
  await s.post('/v1/calls/w-4/inquiry', TOKENS.agent1002, { topic: 'billing', customer: { name: 'Sari', salutation: 'Ibu' } })
  await endCall(s, 'w-3')
  await endCall(s, 'w-4')
  t.equal((await wrapupOf(s, 'w-3')), undefined, 'nothing yet during ACW')
  t.match(await finalOf(s, 'w-3'), { code: 'TRANSFER_ICONNET', label: 'Ditransfer ke CC ICONNET', source: 'topic', final: true })
  const def = await finalOf(s, 'w-4')
  t.match(def, { code: 'TANPA_KODE', label: 'TANPA_KODE', source: 'default', final: true }, 'billing names no code: the default')
  t.notOk('by' in def, 'nobody chose it')
  t.equal((await s.get('/v1/calls/w-4', TOKENS.supervisor)).body.wrapup.source, 'default', 'on the call view')
})

t.test('acw.seconds 0: the window closes at the call\'s end, with the default', async t => {
  const s = await stackWith(t, 0)
  await s.connectedCall('w-5', '1001')
  t.equal((await s.post('/v1/calls/w-5/wrapup', TOKENS.agent1001, { code: 'SELESAI' })).status, 200, 'open while connected')
  await s.connectedCall('w-6', '1002')
  await endCall(s, 'w-5')
  await endCall(s, 'w-6')
  t.match(await finalOf(s, 'w-5'), { code: 'SELESAI', source: 'agent', final: true }, 'the choice, final at the end')
  t.match(await finalOf(s, 'w-6'), { code: 'TANPA_KODE', source: 'default', final: true })
  t.equal((await s.post('/v1/calls/w-6/wrapup', TOKENS.agent1002, { code: 'SELESAI' })).body.error, 'WRAPUP_CLOSED')
})

for (const engine of ENGINES) {
t.test(`${engine}: across a restart: open while the ACW runs, closed at its original deadline`, async t => {
  const env = await storeEnv(t, engine)
  if (env === undefined) return
  const fake = await FakeAmi.start({ handler: asteriskWorks })
  t.teardown(async () => { await fake.stop() })
  const config = testConfig(fake.port, raw => { raw.ami.actionTimeoutMs = 500; raw.acw = { seconds: 3, mode: 'fixed' } }, env)
  const inject = async (svc: Awaited<ReturnType<typeof createService>>, url: string, token: string, body: unknown) => {
    const r = await svc.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${token}` }, payload: body as object })
    return { status: r.statusCode, body: r.json() }
  }
  const first = await createService(config, pino({ level: 'silent' }))
  await first.start()
  await waitFor('AMI', () => first.ami.ready)
  await inject(first, '/v1/cti/events', TOKENS.pbx, { type: 'call.offered', callId: 'w-7', data: { customerChannel: 'PJSIP/trunk-w-7' } })
  await inject(first, '/v1/cti/events', TOKENS.pbx, { type: 'call.answered', callId: 'w-7', agentId: '1001', data: { agentChannel: 'Local/1001@agents-w7;1' } })
  await inject(first, '/v1/cti/events', TOKENS.pbx, { type: 'call.ended', callId: 'w-7' })
  const endsAt = await waitFor('ACW', () => first.acw.endsAt('1001'))
  await first.stop()

  const second = await createService(config, pino({ level: 'silent' }))
  t.teardown(async () => { await second.stop() })
  await second.start()
  await waitFor('AMI', () => second.ami.ready)
  // The restart takes well under the 3 s of ACW; if the machine is slow, the choice is skipped.
  let chose = false
  if (Date.now() < Date.parse(endsAt) - 500) {
    const open = await inject(second, '/v1/calls/w-7/wrapup', TOKENS.agent1001, { code: 'TINDAK_LANJUT' })
    t.equal(open.status, 200, 'after the restart, before the deadline: still open')
    chose = open.status === 200
  }
  const final = await eventually('final after the restart', async () => { const w = (await second.tracker.find('w-7'))?.wrapup; return w?.final === true ? w : undefined }, 10_000)
  t.ok(Date.now() >= Date.parse(endsAt) - 50, 'not before the ACW\'s original deadline')
  t.match(final, chose ? { code: 'TINDAK_LANJUT', source: 'agent' } : { code: 'TANPA_KODE', source: 'default' }, 'the choice made after the restart, else the default')
  const late = await inject(second, '/v1/calls/w-7/wrapup', TOKENS.agent1001, { code: 'SELESAI' })
  t.equal(late.status, 409)
  t.equal(late.body.error, 'WRAPUP_CLOSED')
  // Memory answers at once; the journal writes it in the next commit.
  const stored = await eventually('final in the store', async () => { const c = await second.store.calls.get('w-7'); return c?.wrapup?.final === true ? c : undefined }, 5000)
  t.equal(stored.wrapup?.code, final.code, 'final in the store, the same code')
})
}

t.test('a finished call: closed, and still only its agent\'s', async t => {
  const s = await stackWith(t, 0)
  await s.connectedCall('w-8', '1001')
  await endCall(s, 'w-8')
  await finalOf(s, 'w-8')
  t.equal((await s.post('/v1/calls/w-8/wrapup', TOKENS.agent1002, { code: 'SELESAI' })).status, 403, 'still another agent\'s call')
  t.equal((await s.post('/v1/calls/w-8/wrapup', TOKENS.agent1001, { code: 'SELESAI' })).body.error, 'WRAPUP_CLOSED')
})

t.test('the store cannot take the choice: 503 STORE_UNAVAILABLE, and the choice is not claimed', async t => {
  const s = await stackWith(t)
  await s.connectedCall('w-9', '1001')
  const store = s.svc.store
  const real = store.commit.bind(store)
  let full = true
  // Every write fails as a full disk would (as test/integration/readiness.test.ts does).
  store.commit = async changes => {
    if (full) throw new Database.SqliteError('database or disk is full', 'SQLITE_FULL')
    await real(changes)
  }
  const first = await s.post('/v1/calls/w-9/wrapup', TOKENS.agent1001, { code: 'SELESAI' })
  t.equal(first.status, 503, 'not answered 200 before it is durable')
  t.equal(first.body.error, 'STORE_UNAVAILABLE')
  const again = await s.post('/v1/calls/w-9/wrapup', TOKENS.agent1001, { code: 'TINDAK_LANJUT' })
  t.equal(again.status, 503, 'during the outage: refused at once')
  t.equal(again.body.error, 'STORE_UNAVAILABLE')
  full = false
  await eventually('the store back', async () => (await s.get('/readyz')).status === 200 ? true : undefined, 10_000)
  const after = await s.post('/v1/calls/w-9/wrapup', TOKENS.agent1001, { code: 'TINDAK_LANJUT' })
  t.equal(after.status, 200, 'once the store is back')
  t.match((await store.calls.get('w-9'))?.wrapup, { code: 'TINDAK_LANJUT' }, 'and in the store')
})
