// A policy file with a mistake is refused as a whole, naming the file and every bad
// field. Each case starts from the shipped file (which loads) and breaks one thing.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { loadPolicies, parsePolicy, PolicyFileError } from '../../src/policy/index.ts'

const SHIPPED = readFileSync(fileURLToPath(new URL('../../config/policy/2021-08-17-iconnet-direct-transfer.yaml', import.meta.url)), 'utf8')

function edit (text: string, from: string | RegExp, to: string): string {
  const out = text.replace(from, to)
  if (out === text) throw new Error(`test fixture: ${String(from)} not found`)
  return out
}

/** Loads a directory holding only `text` as policy.yaml and returns the refusal. */
function refusal (t: Test, text: string): PolicyFileError {
  const dir = t.testdir({ 'policy.yaml': text })
  try {
    loadPolicies(dir)
  } catch (err) {
    if (!(err instanceof PolicyFileError)) throw err
    t.equal(err.file, path.join(dir, 'policy.yaml'), 'names the file')
    t.match(err.message, path.join(dir, 'policy.yaml'), 'the message names the file')
    for (const p of err.problems) t.ok(err.message.includes(p), `the message carries: ${p}`)
    return err
  }
  throw new Error('the file was accepted')
}

t.test('the shipped file itself loads', async t => {
  t.equal(loadPolicies(t.testdir({ 'policy.yaml': SHIPPED })).versions.length, 1)
})

const cases: Array<{ name: string, text: () => string, problems: RegExp[] }> = [
  {
    name: 'YAML syntax error',
    text: () => edit(SHIPPED, 'timezone: Asia/Jakarta', 'timezone: [Asia/Jakarta'),
    problems: [/^YAML: .*end with a \] at line \d+, column \d+ \(.+\)$/]
  },
  {
    name: 'a key given twice',
    text: () => edit(SHIPPED, 'timezone: Asia/Jakarta', 'timezone: Asia/Jakarta\ntimezone: Asia/Makassar'),
    problems: [/^YAML: Map keys must be unique at line \d+, column 1 \(timezone: Asia\/Makassar\)$/]
  },
  {
    name: 'unknown key in a topic',
    text: () => edit(SHIPPED, '    sop: Informasi Tagihan ICONNET', '    sop: Informasi Tagihan ICONNET\n    priority: high'),
    problems: [/^topics\.billing\.priority: unknown key \(allowed here: sop, action, script, guidance, transferTarget, wrapupCode, apkt\)$/]
  },
  {
    name: 'unknown topic',
    text: () => edit(SHIPPED, '  billing:', '  billng:'),
    problems: [/^topics\.billng: unknown key \(allowed here: coverage, billing, activation, disruption\)$/]
  },
  {
    name: 'missing topic field',
    text: () => edit(SHIPPED, /^ {4}script: "Baik \{Bapak\/Ibu\} \{nama\}, terima kasih.*\n/m, ''),
    problems: [/^topics\.billing\.script: is required$/]
  },
  {
    name: 'missing APKT field',
    text: () => edit(SHIPPED, '      permasalahan: "ICONNET : INFO TAGIHAN, TELAH DIJELASKAN SESUAI KETENTUAN. PELANGGAN MENGERTI"\n', ''),
    problems: [/^topics\.billing\.apkt\.permasalahan: is required$/]
  },
  {
    name: 'bad action',
    text: () => edit(SHIPPED, '    action: transfer', '    action: forward'),
    problems: [/^topics\.activation\.action: must be one of: educate, transfer$/]
  },
  {
    name: 'unknown placeholder in a script',
    text: () => edit(SHIPPED, 'Baik {Bapak/Ibu} {nama}, mohon maaf saat ini {Bapak/Ibu} terhubung dengan Contact Center PLN 123 Ketenagalistrikan, untuk Informasi Cakupan', 'Baik {Bapak/Ibu} {name}, mohon maaf saat ini {Bapak/Ibu} terhubung dengan Contact Center PLN 123 Ketenagalistrikan, untuk Informasi Cakupan'),
    problems: [/^topics\.coverage\.script: unknown placeholder \{name\} \(known: \{Bapak\/Ibu\}, \{Pak\/Bu\}, \{nama\}, \{AREA\}, \{TARGET\}\)$/]
  },
  {
    name: 'unknown placeholder in APKT',
    text: () => edit(SHIPPED, 'DI WILAYAH {AREA}', 'DI WILAYAH {KOTA}'),
    problems: [/^topics\.coverage\.apkt\.permasalahan: unknown placeholder \{KOTA\}/]
  },
  {
    name: 'unclosed placeholder',
    text: () => edit(SHIPPED, 'mohon ditunggu ya {Pak/Bu}?', 'mohon ditunggu ya {Pak/Bu?'),
    problems: [/^topics\.activation\.script: has a \{ or \} that is not part of a placeholder$/]
  },
  {
    name: 'missing transfer target for a transfer topic',
    text: () => edit(SHIPPED, /(disruption:[\s\S]*?)\n {4}transferTarget: 3/, '$1'),
    problems: [/^topics\.disruption\.transferTarget: is required when action is transfer/, /^topics\.disruption\.guidance\[2\]: \{TARGET\} needs topics\.disruption\.transferTarget$/]
  },
  {
    name: 'transfer target on an educate topic',
    text: () => edit(SHIPPED, '    sop: Informasi Tagihan ICONNET', '    sop: Informasi Tagihan ICONNET\n    transferTarget: 3'),
    problems: [/^topics\.billing\.transferTarget: only a transfer topic has a transfer target/]
  },
  {
    name: 'transfer target that is not a number',
    text: () => edit(SHIPPED, '    transferTarget: 3', '    transferTarget: "three"'),
    problems: [/^topics\.activation\.transferTarget: must be integer$/]
  },
  {
    name: 'transfer target out of the directory range',
    text: () => edit(SHIPPED, '    transferTarget: 3', '    transferTarget: 100'),
    problems: [/^topics\.activation\.transferTarget: must be <= 99$/]
  },
  {
    name: 'empty guidance',
    text: () => edit(SHIPPED, /(coverage:[\s\S]*?)guidance:\n(?: {6}- .*\n)+/, '$1guidance: []\n'),
    problems: [/^topics\.coverage\.guidance: must not be empty$/]
  },
  {
    name: 'date in the wrong form',
    text: () => edit(SHIPPED, 'effectiveFrom: 2021-08-17', 'effectiveFrom: 17-08-2021'),
    problems: [/^effectiveFrom: must be a date YYYY-MM-DD$/]
  },
  {
    name: 'date that is not in the calendar',
    text: () => edit(SHIPPED, 'effectiveFrom: 2021-08-17', 'effectiveFrom: 2021-02-29'),
    problems: [/^effectiveFrom: 2021-02-29 is not a calendar date$/]
  },
  {
    name: 'missing date',
    text: () => edit(SHIPPED, 'effectiveFrom: 2021-08-17\n', ''),
    problems: [/^effectiveFrom: is required$/]
  },
  {
    name: 'time zone with no fixed Indonesian offset',
    text: () => edit(SHIPPED, 'timezone: Asia/Jakarta', 'timezone: Europe/Amsterdam'),
    problems: [/^timezone: must be one of: Asia\/Jakarta, Asia\/Pontianak, Asia\/Makassar, Asia\/Jayapura$/]
  },
  {
    name: 'lower-case APKT text',
    text: () => edit(SHIPPED, '"ICONNET : TRANSFER CALL"', '"ICONNET : Transfer Call"'),
    problems: [/^topics\.activation\.apkt\.permasalahan: must be upper-case/]
  },
  {
    name: 'APKT jenis other than KELUHAN or GANGGUAN',
    text: () => edit(SHIPPED, '      jenis: KELUHAN', '      jenis: INFO'),
    problems: [/^topics\.coverage\.apkt\.jenis: must be one of: KELUHAN, GANGGUAN$/]
  },
  {
    name: 'guidance condition on an unknown answer',
    text: () => edit(SHIPPED, 'when: { subscribedViaPlnMobile: true }', 'when: { subscribedViaPlnMobile: maybe }'),
    problems: [/^topics\.billing\.guidance\[1\]\.when\.subscribedViaPlnMobile: must be one of: true, false, unknown$/]
  },
  {
    name: 'guidance line of the wrong kind',
    text: () => edit(SHIPPED, '      - Tunggu persetujuan Pelanggan (YA / Baik) sebelum melakukan transfer.', '      - 42'),
    problems: [/^topics\.activation\.guidance\[1\]: must be a text, or \{ text, when \}$/]
  },
  {
    name: 'guidance object with a misspelt key',
    text: () => edit(SHIPPED, '      - text: Tanyakan apakah', '      - txt: Tanyakan apakah'),
    problems: [/^topics\.billing\.guidance\[0\]\.text: is required$/, /^topics\.billing\.guidance\[0\]\.txt: unknown key \(allowed here: text, when\)$/]
  },
  {
    name: 'empty script',
    text: () => edit(SHIPPED, /^ {4}script: "Baik \{Bapak\/Ibu\} \{nama\}, terima kasih.*$/m, '    script: ""'),
    problems: [/^topics\.billing\.script: must not be empty$/]
  },
  {
    name: 'no topics at all',
    text: () => edit(SHIPPED, /\ntopics:[\s\S]*$/, '\ntopics: {}\n'),
    problems: [/^topics: must not be empty$/]
  },
  {
    name: 'not a mapping',
    text: () => '- effectiveFrom: 2021-08-17\n',
    problems: [/^the file must hold a YAML mapping/]
  }
]

for (const c of cases) {
  t.test(`refused: ${c.name}`, async t => {
    const err = refusal(t, c.text())
    t.equal(err.problems.length, c.problems.length, `exactly the expected problems: ${err.problems.join(' | ')}`)
    for (const re of c.problems) t.ok(err.problems.some(p => re.test(p)), `problem ${re}`)
  })
}

t.test('every problem of a file is reported at once', async t => {
  let text = SHIPPED
  text = edit(text, '    action: transfer', '    action: forward')
  text = edit(text, 'DI WILAYAH {AREA}', 'DI WILAYAH {KOTA}')
  text = edit(text, 'effectiveFrom: 2021-08-17', 'effectiveFrom: 2021-13-01')
  text = edit(text, '    sop: Informasi Tagihan ICONNET', '    sop: Informasi Tagihan ICONNET\n    priority: high')
  const err = refusal(t, text)
  t.match(err.problems.join('\n'), /topics\.activation\.action/)
  t.match(err.problems.join('\n'), /topics\.coverage\.apkt\.permasalahan: unknown placeholder \{KOTA\}/)
  t.match(err.problems.join('\n'), /effectiveFrom: 2021-13-01 is not a calendar date/)
  t.match(err.problems.join('\n'), /topics\.billing\.priority: unknown key/)
  t.equal(err.problems.length, 4)
})

t.test('parsePolicy names the file it is given', async t => {
  t.throws(() => parsePolicy('effectiveFrom: 2021-08-17\n', 'somewhere/p.yaml'), { name: 'PolicyFileError', file: 'somewhere/p.yaml', problems: ['timezone: is required', 'topics: is required'] })
})

t.test('a directory with no policy, or none at all, is refused', async t => {
  const empty = t.testdir({ 'README.md': 'policies go here' })
  t.throws(() => loadPolicies(empty), { name: 'PolicyFileError', file: empty, problems: [/no policy files/] })
  const missing = path.join(empty, 'nope')
  t.throws(() => loadPolicies(missing), { name: 'PolicyFileError', file: missing, problems: [/ENOENT/] })
})

t.test('one bad file among good ones refuses the whole set', async t => {
  const dir = t.testdir({ 'a.yaml': SHIPPED, 'b.yaml': edit(edit(SHIPPED, 'effectiveFrom: 2021-08-17', 'effectiveFrom: 2025-01-01'), '    action: transfer', '    action: forward') })
  t.throws(() => loadPolicies(dir), { name: 'PolicyFileError', file: path.join(dir, 'b.yaml') })
})
