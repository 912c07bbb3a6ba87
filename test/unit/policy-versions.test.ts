// Which version is in force when: the latest whose effectiveFrom, at midnight in its
// own zone, is not after the call. Jakarta midnight of 2021-08-17 is 2021-08-16T17:00Z.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import t from 'tap'
import { loadPolicies, PolicyError, PolicyFileError, type Customer } from '../../src/policy/index.ts'

const SHIPPED_NAME = '2021-08-17-iconnet-direct-transfer.yaml'
const SHIPPED = readFileSync(fileURLToPath(new URL(`../../config/policy/${SHIPPED_NAME}`, import.meta.url)), 'utf8')
const budi: Customer = { name: 'Budi', salutation: 'Bapak' }

function edit (text: string, from: string | RegExp, to: string): string {
  const out = text.replace(from, to)
  if (out === text) throw new Error(`test fixture: ${String(from)} not found`)
  return out
}

function caught (fn: () => unknown): unknown {
  try { fn() } catch (err) { return err }
  return undefined
}

// A later version: billing now says MEMAHAMI, disruption is no longer handled here,
// activation goes to another directory entry.
const LATER = edit(edit(edit(edit(SHIPPED,
  'effectiveFrom: 2021-08-17', 'effectiveFrom: 2025-01-01'),
  'INFO TAGIHAN, TELAH DIJELASKAN SESUAI KETENTUAN. PELANGGAN MENGERTI', 'INFO TAGIHAN, TELAH DIJELASKAN SESUAI KETENTUAN. PELANGGAN MEMAHAMI'),
  /\n {2}disruption:[\s\S]*$/, '\n'),
  'transferTarget: 3', 'transferTarget: 4')

t.test('both sides of the Jakarta midnight that starts the first version', async t => {
  const dir = t.testdir({ [SHIPPED_NAME]: SHIPPED })
  const set = loadPolicies(dir)
  const before = caught(() => set.decide('activation', { customer: budi }, new Date('2021-08-16T16:59:59Z')))
  t.ok(before instanceof PolicyError)
  t.match(before, { code: 'POLICY_NOT_IN_FORCE', message: /2021-08-17/ })
  t.match((before as Error).message, /2021-08-16T16:59:59\.000Z/, 'names the time asked about')
  t.match(caught(() => set.decide('activation', { customer: budi }, new Date('2021-08-16T16:59:59.999Z'))), { code: 'POLICY_NOT_IN_FORCE' })
  t.match(caught(() => set.decide('activation', { customer: budi }, new Date('2000-01-01T00:00:00Z'))), { code: 'POLICY_NOT_IN_FORCE' })
  const first = set.decide('activation', { customer: budi }, new Date('2021-08-16T17:00:00Z'))
  t.equal(first.policyVersion, '2021-08-17')
  t.equal(first.transferTarget, 3)
  t.same(set.topics(new Date('2021-08-16T16:59:59Z')), [])
  t.same(set.topics(new Date('2021-08-16T17:00:00Z')), ['coverage', 'billing', 'activation', 'disruption'])
})

t.test('a later version replaces the earlier one from its own Jakarta midnight', async t => {
  const dir = t.testdir({ [SHIPPED_NAME]: SHIPPED, '2025-01-01-iconnet.yaml': LATER, 'README.md': 'not a policy' })
  const set = loadPolicies(dir)
  t.same(set.versions, [
    { effectiveFrom: '2021-08-17', file: path.join(dir, SHIPPED_NAME) },
    { effectiveFrom: '2025-01-01', file: path.join(dir, '2025-01-01-iconnet.yaml') }
  ])
  const lastOld = new Date('2024-12-31T16:59:59Z')
  const firstNew = new Date('2024-12-31T17:00:00Z')

  const oldBilling = set.decide('billing', { customer: budi }, lastOld)
  t.equal(oldBilling.policyVersion, '2021-08-17')
  t.equal(oldBilling.apkt.permasalahan, 'ICONNET : INFO TAGIHAN, TELAH DIJELASKAN SESUAI KETENTUAN. PELANGGAN MENGERTI')
  const newBilling = set.decide('billing', { customer: budi }, firstNew)
  t.equal(newBilling.policyVersion, '2025-01-01')
  t.equal(newBilling.apkt.permasalahan, 'ICONNET : INFO TAGIHAN, TELAH DIJELASKAN SESUAI KETENTUAN. PELANGGAN MEMAHAMI')

  t.equal(set.decide('activation', { customer: budi }, lastOld).transferTarget, 3)
  t.equal(set.decide('activation', { customer: budi }, firstNew).transferTarget, 4)

  t.equal(set.decide('disruption', { customer: budi }, lastOld).action, 'transfer')
  t.match(caught(() => set.decide('disruption', { customer: budi }, firstNew)), { code: 'UNKNOWN_TOPIC', message: /2025-01-01/ })
  t.same(set.topics(firstNew), ['coverage', 'billing', 'activation'])
  t.equal(set.versionAt(firstNew)?.effectiveFrom, '2025-01-01')
})

t.test('a version in another Indonesian zone starts at its own midnight', async t => {
  const jayapura = edit(edit(LATER, 'timezone: Asia/Jakarta', 'timezone: Asia/Jayapura'), 'effectiveFrom: 2025-01-01', 'effectiveFrom: 2026-03-01')
  const set = loadPolicies(t.testdir({ [SHIPPED_NAME]: SHIPPED, 'later.yaml': jayapura }))
  // 2026-03-01T00:00+09:00
  t.equal(set.decide('billing', { customer: budi }, new Date('2026-02-28T14:59:59Z')).policyVersion, '2021-08-17')
  t.equal(set.decide('billing', { customer: budi }, new Date('2026-02-28T15:00:00Z')).policyVersion, '2026-03-01')
})

t.test('two files with the same effectiveFrom are refused', async t => {
  const dir = t.testdir({ 'a.yaml': SHIPPED, 'b.yaml': edit(SHIPPED, 'INFO TAGIHAN', 'INFO TAGIHAN ICONNET') })
  const err = caught(() => loadPolicies(dir))
  t.ok(err instanceof PolicyFileError)
  const e = err as PolicyFileError
  t.equal(e.file, path.join(dir, 'b.yaml'))
  t.match(e.problems, [/^effectiveFrom: 2021-08-17 is also the effectiveFrom of .*a\.yaml/])
  t.match(e.message, /b\.yaml/)
})

t.test('the same date in two zones is refused too', async t => {
  const dir = t.testdir({ 'a.yaml': SHIPPED, 'b.yaml': edit(SHIPPED, 'timezone: Asia/Jakarta', 'timezone: Asia/Makassar') })
  t.match(caught(() => loadPolicies(dir)), { file: path.join(dir, 'b.yaml'), problems: [/^effectiveFrom: 2021-08-17 is also the effectiveFrom of .*a\.yaml/] })
})

t.test('the version chosen is always the latest started one (property)', async t => {
  const dates = ['2021-08-17', '2022-02-28', '2023-12-31', '2024-02-29']
  const dir = t.testdir(Object.fromEntries(dates.map(d => [`${d}.yaml`, SHIPPED.replace('effectiveFrom: 2021-08-17', `effectiveFrom: ${d}`)])))
  const set = loadPolicies(dir)
  const starts = dates.map(d => Date.parse(`${d}T00:00:00+07:00`))
  fc.assert(fc.property(fc.integer({ min: Date.parse('2021-01-01T00:00:00Z'), max: Date.parse('2026-01-01T00:00:00Z') }), ms => {
    const expected = dates.filter((_, i) => (starts[i] as number) <= ms).at(-1)
    const got = expected === undefined
      ? (caught(() => set.decide('billing', { customer: budi }, new Date(ms))) as PolicyError).code
      : set.decide('billing', { customer: budi }, new Date(ms)).policyVersion
    return got === (expected ?? 'POLICY_NOT_IN_FORCE')
  }), { examples: starts.flatMap(s => [[s - 1], [s]]) })
  t.pass('checked')
})

t.test('an invalid Date is a programming error, not a policy answer', async t => {
  const set = loadPolicies(t.testdir({ [SHIPPED_NAME]: SHIPPED }))
  t.throws(() => set.decide('billing', { customer: budi }, new Date('nope')), RangeError)
})
