// A policy topic may name the wrap-up code its calls get when the agent chose none
// (CONTRACT.md section 7); the code must be one of the config's wrapupCodes, checked
// when the policy is loaded, so a typo stops the service at start, not a call later.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { loadPolicies, PolicyFileError } from '../../src/policy/index.ts'
import { parseConfig } from '../../src/config/load.ts'
import { baseRawConfig } from '../helpers/config.ts'

const SHIPPED = readFileSync(fileURLToPath(new URL('../../config/policy/2021-08-17-iconnet-direct-transfer.yaml', import.meta.url)), 'utf8')
const CODES = parseConfig(baseRawConfig()).wrapupCodes.map(w => w.code)
const customer = { name: 'Budi', salutation: 'Bapak' as const }
const at = new Date('2026-11-24T03:00:00Z')

t.test('the shipped policy: the transfer topics name TRANSFER_ICONNET, the others none; the decision carries it', async t => {
  const set = loadPolicies(t.testdir({ 'p.yaml': SHIPPED }), { wrapupCodes: CODES })
  t.equal(set.decide('activation', { customer }, at).wrapupCode, 'TRANSFER_ICONNET')
  t.equal(set.decide('disruption', { customer }, at).wrapupCode, 'TRANSFER_ICONNET')
  t.equal(set.decide('billing', { customer }, at).wrapupCode, undefined, 'billing names none: the default applies')
  t.equal(set.decide('coverage', { customer, area: 'Cilincing' }, at).wrapupCode, undefined)
})

t.test('a topic code that is not a configured wrap-up code is refused at load, naming the topic, the code and the known ones', async t => {
  const text = SHIPPED.replace('wrapupCode: TRANSFER_ICONNET', 'wrapupCode: TRANSFER_ICONET')
  t.not(text, SHIPPED)
  const dir = t.testdir({ 'p.yaml': text })
  const err = (() => { try { loadPolicies(dir, { wrapupCodes: CODES }); return undefined } catch (e) { return e } })()
  t.ok(err instanceof PolicyFileError, 'refused')
  t.same((err as PolicyFileError).problems, ['topics.activation.wrapupCode: "TRANSFER_ICONET" is not one of the configured wrapupCodes (SELESAI, TRANSFER_ICONNET, TINDAK_LANJUT); add it to wrapupCodes or name one of those'])
  t.throws(() => loadPolicies(dir, { wrapupCodes: ['TRANSFER_ICONET', 'X'] }), PolicyFileError, 'the same file with other codes: disruption\'s is now unknown')
  t.doesNotThrow(() => loadPolicies(t.testdir({ 'p.yaml': text.replace('wrapupCode: TRANSFER_ICONNET', 'wrapupCode: TRANSFER_ICONET') }), { wrapupCodes: ['TRANSFER_ICONET'] }), 'accepted when configured')
})

t.test('a malformed code is refused by the file schema', async t => {
  const text = SHIPPED.replace('wrapupCode: TRANSFER_ICONNET', 'wrapupCode: "TRANSFER ICONNET"')
  t.throws(() => loadPolicies(t.testdir({ 'p.yaml': text })), { name: 'PolicyFileError', problems: [/^topics\.activation\.wrapupCode: must be a wrap-up code/] })
})

t.test('config: wrapupCodes and wrapupDefault default to the contract, are validated, and can be set by environment', async t => {
  const c = parseConfig(baseRawConfig())
  t.same(c.wrapupCodes, [
    { code: 'SELESAI', label: 'Selesai dijelaskan' },
    { code: 'TRANSFER_ICONNET', label: 'Ditransfer ke CC ICONNET' },
    { code: 'TINDAK_LANJUT', label: 'Perlu tindak lanjut' }
  ])
  t.equal(c.wrapupDefault, 'TANPA_KODE')
  const env = parseConfig(baseRawConfig(), { CTI_WRAPUP_CODES: '[{"code":"A","label":"Satu"}]', CTI_WRAPUP_DEFAULT: 'NONE' })
  t.same(env.wrapupCodes, [{ code: 'A', label: 'Satu' }])
  t.equal(env.wrapupDefault, 'NONE')
  const problems = (raw: Record<string, unknown>): string[] => { try { parseConfig(raw); return [] } catch (e) { return (e as { problems: string[] }).problems } }
  const dup = baseRawConfig(); dup.wrapupCodes = [{ code: 'A', label: 'x' }, { code: 'A', label: 'y' }]
  t.same(problems(dup), ['wrapupCodes: code "A" appears more than once'])
  const bad = baseRawConfig(); bad.wrapupCodes = [{ code: 'A B', label: 'x\ny' }]
  t.match(problems(bad).join('\n'), /wrapupCodes\.0\.code[\s\S]*wrapupCodes\.0\.label|wrapupCodes\[0\]\.code[\s\S]*label/)
  const none = baseRawConfig(); none.wrapupCodes = []
  t.match(problems(none).join('\n'), /wrapupCodes/)
})
