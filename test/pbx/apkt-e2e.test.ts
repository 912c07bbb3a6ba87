// End to end on the real sandbox: a transferred activation call and an educated
// coverage call each produce exactly one APKT record at a real HTTP receiver, with the
// contract's texts, the agent's unit and the Idempotency-Key; a call with no ICONNET
// inquiry produces none.
import t from 'tap'
import { TOKENS } from '../helpers/config.ts'
import { Receiver, RECEIVER_TOKEN } from '../helpers/apkt.ts'
import { eventually, waitFor } from '../helpers/ami.ts'
import { ENGINES, storeEnv } from '../helpers/engines.ts'
import { startStack } from './harness.ts'

for (const engine of ENGINES) t.test(`${engine}: one record per ICONNET outcome, exactly as the contract writes it`, async t => {
  const env = await storeEnv(t, engine)
  if (env === undefined) return
  const receiver = await Receiver.start()
  t.teardown(() => receiver.stop())
  const s = await startStack(t, raw => {
    raw.acw = { seconds: 1, mode: 'fixed' }
    raw.apkt = { url: receiver.url, token: RECEIVER_TOKEN, timeoutMs: 2000, dispatcher: { pollMs: 100, backoff: { initialMs: 100, maxMs: 1000 } } }
  }, env)

  // Activation, transferred.
  const a = await s.call('0811700001')
  await s.http('POST', `/v1/calls/${a.callId}/inquiry`, a.token, { topic: 'activation', customer: { name: 'Budi', salutation: 'Bapak', customerId: '532110012345' } })
  await s.http('POST', `/v1/calls/${a.callId}/consent`, a.token, { accepted: true })
  const press = await s.http('POST', `/v1/calls/${a.callId}/direct-transfer`, a.token, { target: 3 })
  t.equal(press.status, 200, JSON.stringify(press.body))
  const arrived = await waitFor('arrival', () => s.pbxEvents.find(e => e.event === 'UserEvent' && e.fields.userevent === 'IconnetArrived' && e.fields.linkedid === a.callId))
  await s.admin.action('Hangup', { Channel: arrived.fields.channel ?? '' })

  // Coverage, educated; the last inquiry of the call wins (the agent corrected the area).
  const c = await s.call('0811700002')
  await s.http('POST', `/v1/calls/${c.callId}/inquiry`, c.token, { topic: 'coverage', customer: { name: 'Sari', salutation: 'Ibu' }, area: 'Koja' })
  await s.http('POST', `/v1/calls/${c.callId}/inquiry`, c.token, { topic: 'coverage', customer: { name: 'Sari', salutation: 'Ibu' }, area: 'Cilincing Jakarta Utara' })
  await s.admin.action('Hangup', { Channel: s.svc.tracker.get(c.callId)?.customerChannel ?? '' })

  // No ICONNET inquiry at all.
  const n = await s.call('0811700003')
  await s.admin.action('Hangup', { Channel: s.svc.tracker.get(n.callId)?.customerChannel ?? '' })
  await eventually('the plain call ended', async () => s.svc.tracker.get(n.callId)?.state === 'ended')

  await eventually('two records delivered', async () => receiver.accepted.size >= 2 ? true : undefined, 10_000)
  const byCall = (id: string) => [...receiver.accepted.values()].filter(r => r.callId === id)
  const ra = byCall(a.callId)
  const rc = byCall(c.callId)
  t.equal(ra.length, 1, 'exactly one record for the transferred call')
  t.equal(rc.length, 1, 'exactly one record for the educated call')
  t.equal(byCall(n.callId).length, 0, 'none for a call without an ICONNET inquiry')
  const inOutbox = await s.svc.outbox.list()
  t.equal(inOutbox.filter(e => e.record.callId === n.callId).length, 0, 'not even pending in the outbox')
  t.equal(inOutbox.length, 2, 'the outbox holds exactly the two records')

  t.match(ra[0], {
    jenis: 'KELUHAN', tipeKeluhan: 'INFORMASI', subTipeKeluhan: 'UMUM',
    unit: 'DISTRIBUSI JAKARTA RAYA', unitPelayanan: 'UP3 TANJUNG PRIOK', lokasi: null,
    permasalahan: 'ICONNET : TRANSFER CALL', callId: a.callId, agentId: a.agentId,
    customer: { name: 'BUDI', customerId: '532110012345' }, topic: 'activation'
  })
  t.match(ra[0]?.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00$/, 'Jakarta time')
  t.match(rc[0], {
    permasalahan: 'ICONNET : INFO CAKUPAN AREA DI WILAYAH CILINCING JAKARTA UTARA, TELAH DIJELASKAN SESUAI KETENTUAN. PELANGGAN MENGERTI',
    customer: { name: 'SARI', customerId: null }, topic: 'coverage', jenis: 'KELUHAN'
  })
  const req = receiver.received.find(r => r.body.callId === a.callId)
  t.equal(req?.authorization, `Bearer ${RECEIVER_TOKEN}`)
  t.equal(req?.key, ra[0]?.id, 'Idempotency-Key is the record id')

  const view = await s.http('GET', `/v1/calls/${a.callId}`, TOKENS.supervisor)
  t.equal(view.body.apkt.recordId, ra[0]?.id, 'the call shows its record')
  t.equal(view.body.apkt.status, 'delivered')
  const list = await s.http('GET', '/v1/apkt/records?status=delivered', TOKENS.supervisor)
  t.equal(list.body.records.length, 2)
  t.equal(receiver.duplicates, 0)
})
