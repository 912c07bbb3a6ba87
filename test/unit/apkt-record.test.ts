// The APKT record (CONTRACT.md sections 1 and 5): exact fields and texts.
import t from 'tap'
import fc from 'fast-check'
import { ApktRecordError, buildApktRecord, jakartaTime, type ApktRecordInput } from '../../src/apkt/record.ts'

const POLICY = { jenis: 'KELUHAN', tipeKeluhan: 'INFORMASI', subTipeKeluhan: 'UMUM' }
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

const input = (over: Partial<ApktRecordInput> = {}): ApktRecordInput => ({
  callId: '1732417200.42',
  agentId: '1001',
  topic: 'activation',
  apkt: { ...POLICY, permasalahan: 'ICONNET : TRANSFER CALL' },
  customer: { name: 'Budi' },
  unit: 'DISTRIBUSI JAKARTA RAYA',
  unitPelayanan: 'UP3 TANJUNG PRIOK',
  at: new Date('2026-11-24T03:00:00Z'),
  id: '6f1c1a52-3f4e-4b7a-9d2c-0a1b2c3d4e5f',
  ...over
})

t.test('a transferred activation call: the record of CONTRACT.md section 5, field for field', async t => {
  t.strictSame(buildApktRecord(input()), {
    id: '6f1c1a52-3f4e-4b7a-9d2c-0a1b2c3d4e5f',
    jenis: 'KELUHAN',
    tipeKeluhan: 'INFORMASI',
    subTipeKeluhan: 'UMUM',
    unit: 'DISTRIBUSI JAKARTA RAYA',
    unitPelayanan: 'UP3 TANJUNG PRIOK',
    lokasi: null,
    permasalahan: 'ICONNET : TRANSFER CALL',
    callId: '1732417200.42',
    agentId: '1001',
    customer: { name: 'BUDI', customerId: null },
    topic: 'activation',
    createdAt: '2026-11-24T10:00:00+07:00'
  })
})

t.test('the key order is the contract example\'s (what the receiver logs and diffs)', async t => {
  t.strictSame(Object.keys(buildApktRecord(input())), ['id', 'jenis', 'tipeKeluhan', 'subTipeKeluhan', 'unit', 'unitPelayanan', 'lokasi', 'permasalahan', 'callId', 'agentId', 'customer', 'topic', 'createdAt'])
})

t.test('coverage: the area is upper-cased in permasalahan; lokasi and customer id carried', async t => {
  const r = buildApktRecord(input({
    topic: 'coverage',
    apkt: { jenis: 'keluhan', tipeKeluhan: 'informasi', subTipeKeluhan: 'umum', permasalahan: 'ICONNET : INFO CAKUPAN AREA DI WILAYAH Cilincing Jakarta Utara, TELAH DIJELASKAN SESUAI KETENTUAN. PELANGGAN MENGERTI' },
    customer: { name: '  siti aminah ', customerId: '538712345678' },
    unit: 'distribusi jakarta raya',
    unitPelayanan: 'up3 tanjung priok',
    lokasi: ' jl. sungai landak no. 5 '
  }))
  t.equal(r.permasalahan, 'ICONNET : INFO CAKUPAN AREA DI WILAYAH CILINCING JAKARTA UTARA, TELAH DIJELASKAN SESUAI KETENTUAN. PELANGGAN MENGERTI')
  t.equal(r.jenis, 'KELUHAN')
  t.equal(r.tipeKeluhan, 'INFORMASI')
  t.equal(r.subTipeKeluhan, 'UMUM')
  t.equal(r.unit, 'DISTRIBUSI JAKARTA RAYA')
  t.equal(r.unitPelayanan, 'UP3 TANJUNG PRIOK')
  t.equal(r.lokasi, 'JL. SUNGAI LANDAK NO. 5')
  t.strictSame(r.customer, { name: 'SITI AMINAH', customerId: '538712345678' })
  t.equal(r.topic, 'coverage')
})

t.test('billing: the contract text passes through unchanged', async t => {
  const text = 'ICONNET : INFO TAGIHAN, TELAH DIJELASKAN SESUAI KETENTUAN. PELANGGAN MENGERTI'
  const r = buildApktRecord(input({ topic: 'billing', apkt: { ...POLICY, permasalahan: text } }))
  t.equal(r.permasalahan, text)
  t.equal(r.topic, 'billing')
})

t.test('identifiers are not upper-cased; blank optional fields become null', async t => {
  const r = buildApktRecord(input({ callId: 'abc.1', agentId: 'agent-x', customer: { name: 'x', customerId: '  ' }, lokasi: '' }))
  t.equal(r.callId, 'abc.1')
  t.equal(r.agentId, 'agent-x')
  t.equal(r.customer.customerId, null)
  t.equal(r.lokasi, null)
})

t.test('a new record gets a fresh uuid v4', async t => {
  const { id: _, ...rest } = input()
  const a = buildApktRecord(rest)
  const b = buildApktRecord(rest)
  t.match(a.id, UUID_V4)
  t.match(b.id, UUID_V4)
  t.not(a.id, b.id)
})

t.test('createdAt is Asia/Jakarta time (UTC+7, no DST) with its offset', async t => {
  t.equal(jakartaTime(new Date('2026-11-24T03:00:00Z')), '2026-11-24T10:00:00+07:00')
  t.equal(jakartaTime(new Date('2026-12-31T17:30:05.999Z')), '2027-01-01T00:30:05+07:00', 'crosses midnight and the year')
  t.equal(jakartaTime(new Date('2021-08-16T17:00:00Z')), '2021-08-17T00:00:00+07:00', 'the policy start')
  t.equal(jakartaTime(new Date('2026-07-01T00:00:00Z')), '2026-07-01T07:00:00+07:00', 'same offset mid-year')
  t.throws(() => jakartaTime(new Date('nope')), ApktRecordError)
})

t.test('property: createdAt denotes the same instant (to the second) for any date', async t => {
  fc.assert(fc.property(fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true }), at => {
    const s = jakartaTime(at)
    return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+07:00$/.test(s) && Date.parse(s) === Math.floor(at.getTime() / 1000) * 1000
  }))
  t.pass('held for every generated date')
})

t.test('property: every free-text field comes out upper-case and trimmed', async t => {
  const text = fc.string({ minLength: 1, maxLength: 40 }).filter(s => s.trim() !== '')
  fc.assert(fc.property(text, text, text, text, (name, unit, up, perm) => {
    const r = buildApktRecord(input({ customer: { name }, unit, unitPelayanan: up, apkt: { ...POLICY, permasalahan: perm } }))
    return [r.customer.name, r.unit, r.unitPelayanan, r.permasalahan].every(v => v === v.toUpperCase() && v === v.trim() && v !== '')
  }))
  t.pass('held for every generated text')
})

t.test('a record missing a required text is refused, not sent half-empty', async t => {
  t.throws(() => buildApktRecord(input({ unit: ' ' })), { name: 'ApktRecordError', message: /unit/ })
  t.throws(() => buildApktRecord(input({ customer: { name: '' } })), { message: /customer.name/ })
  t.throws(() => buildApktRecord(input({ apkt: { ...POLICY, permasalahan: '' } })), { message: /permasalahan/ })
  t.throws(() => buildApktRecord(input({ callId: '' })), { message: /callId/ })
})
