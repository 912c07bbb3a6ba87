// src/ami/reader.ts replaces asterisk-manager's ManagerReader. Differential property
// test: the same random stream, cut into the same random chunks, goes through both;
// every message must come out the same (as the adapter reads it: flatten()), in the
// same order. The documented differences are left out of the comparison: the library's
// empty messages ({}), and keys named like Object.prototype's properties (the library's
// objects have a prototype, so those came out mangled). Plus the size limit and the
// time it takes for a message of many lines.
import t from 'tap'
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { AmiReader, type RawMessage } from '../../src/ami/reader.ts'
import { flatten } from '../../src/ami/events.ts'

const RUNS = Number(process.env.FUZZ_RUNS ?? 300)

// The library's own reader, lifted out of lib/ami.js (it is not exported).
const require = createRequire(import.meta.url)
const libPath = require.resolve('asterisk-manager/lib/ami.js')
// eslint-disable-next-line @typescript-eslint/no-implied-eval
const lift = new Function('require', 'module', `${readFileSync(libPath, 'utf8')}\nreturn ManagerReader`) as
  (req: NodeRequire, mod: { exports: unknown }) => (this: { emit: (name: string, item: RawMessage) => void }, context: object, data: string) => void
const ManagerReader = lift(createRequire(libPath), { exports: {} })

function viaLibrary (chunks: string[]): Array<Record<string, string>> {
  const out: Array<Record<string, string>> = []
  const self = { emit: (name: string, item: RawMessage) => { if (name === 'rawevent' && Object.keys(item).length > 0) out.push({ ...flatten(item) }) } }
  const context = {}
  for (const c of chunks) ManagerReader.call(self, context, c)
  return out
}

function viaReader (chunks: string[]): Array<Record<string, string>> {
  const out: Array<Record<string, string>> = []
  const r = new AmiReader(1 << 30, item => { out.push({ ...flatten(item) }) }, () => { throw new Error('no limit here') })
  for (const c of chunks) r.push(c)
  return out
}

const line = fc.oneof(
  fc.constantFrom('', '', '', 'Event: Hangup', 'Event: RawEvent', 'Channel: PJSIP/1-1', 'Response: Success', 'Response: Follows', 'response: FOLLOWS please',
    'Response: Error', 'ActionID: CTI1-1', 'actionid: x', 'Variable: A=B', 'Variable: A=B=C', 'ChanVariable: X', 'Message: a: b: c', 'Key:no-space',
    '--END COMMAND--', '--END SMS EVENT--', 'Asterisk Call Manager/9.0', '  Spaced Key  : v', 'Privilege: Command', 'Event: Hangup', 'Event: Hangup'),
  fc.tuple(fc.stringMatching(/^[A-Za-z][A-Za-z -]{0,8}$/), fc.string({ unit: 'grapheme', maxLength: 12 }))
    .map(([k, v]) => `${k}: ${v.replace(/[\r\n]/g, ' ')}`)
)
// Keys the comparison leaves out (see the header).
const PROTO = new Set(Object.getOwnPropertyNames(Object.prototype).map(k => k.toLowerCase()))
const plain = (l: string): boolean => !PROTO.has(l.split(': ')[0]?.trim().toLowerCase() ?? '') && !PROTO.has(l.split(': ')[1]?.split('=')[0] ?? '')

t.test('the same messages as asterisk-manager\'s reader, whatever the chunks and line ends', async t => {
  await fc.assert(fc.property(
    fc.array(fc.tuple(line.filter(plain), fc.constantFrom('\r\n', '\n')), { maxLength: 60 }),
    fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 10 }),
    (lines, cuts) => {
      const text = lines.map(([l, eol]) => l + eol).join('') + '\r\n\r\n--END COMMAND--\r\n\r\n'
      const at = [...new Set(cuts.map(c => Math.floor(c * text.length)))].sort((a, b) => a - b)
      const chunks: string[] = []
      let from = 0
      for (const i of [...at, text.length]) { if (i > from) chunks.push(text.slice(from, i)); from = Math.max(from, i) }
      t.same(viaReader(chunks), viaLibrary(chunks))
      return true
    }), { numRuns: RUNS })
})

t.test('a message past the limit calls onOverflow once and nothing more comes out; one just under it comes through', async t => {
  const got: RawMessage[] = []
  const over: number[] = []
  const r = new AmiReader(1000, m => got.push(m), n => over.push(n))
  r.push(`Event: Big\r\nBody: ${'x'.repeat(900)}\r\n\r\n`)
  t.equal(got.length, 1, 'just under the limit: delivered')
  r.push('Event: Endless\r\n')
  for (let i = 0; i < 100; i++) r.push('Filler: 0123456789\r\n')
  r.push('\r\n')
  t.equal(over.length, 1, 'overflow reported once')
  t.ok((over[0] ?? 0) > 1000, `with the size held: ${over[0] ?? 0}`)
  r.push('Event: After\r\n\r\n')
  t.equal(got.length, 1, 'nothing after the overflow')
})

t.test('a message of 200,000 lines, in 100 chunks, comes out whole', async t => {
  const got: RawMessage[] = []
  const r = new AmiReader(1 << 30, m => got.push(m), () => {})
  const body = 'Output: line\r\n'.repeat(2000)
  r.push('Response: Success\r\nActionID: CTI1-1\r\n')
  for (let i = 0; i < 100; i++) r.push(body)
  r.push('\r\n')
  t.equal(got.length, 1)
  t.equal((got[0]?.output as string[]).length, 200_000, 'every Output line kept')
})
