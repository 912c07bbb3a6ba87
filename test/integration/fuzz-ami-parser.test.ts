// Property-based: the AMI adapter reading what the network gives it. A FakeAmi sends
// well-formed event streams cut into random TCP chunks (every event must come out
// whole, in order, with its fields), and random bytes mixed with real messages (the
// client never crashes, never leaves a rejection unhandled, stays logged in, keeps
// answering Ping, every event it emits is well-formed, and the real message after the
// junk comes out whole). Event names and ActionIDs include every name asterisk-manager
// uses itself (INTERNAL_NAMES): `Event: RawEvent` used to freeze the process.
import t, { type Test } from 'tap'
import fc from 'fast-check'
import type { AmiEvent } from '../../src/ami/index.ts'
import { FakeAmi } from '../helpers/fake-ami.ts'
import { INTERNAL_NAMES, makeClient, once, waitFor } from '../helpers/ami.ts'

const RUNS = Number(process.env.FUZZ_RUNS ?? 100)

async function setup (t: Test) {
  const fake = await FakeAmi.start()
  const { client, log } = makeClient(fake.port, { actionTimeoutMs: 1000 })
  const events: AmiEvent[] = []
  client.on('event', e => events.push(e))
  t.teardown(async () => { await client.close(); await fake.stop() })
  const connected = once(client, 'connected')
  client.start()
  await connected
  await client.action('Ping') // FullyBooted, sent after login, is in by now
  events.length = 0
  return { fake, client, log, events }
}

/** Writes `data` in pieces cut at `cuts` (fractions), pausing so TCP delivers them apart. */
async function sendInPieces (fake: FakeAmi, data: Buffer, cuts: number[]): Promise<void> {
  const at = [...new Set(cuts.map(c => Math.floor(c * data.length)))].filter(i => i > 0 && i < data.length).sort((a, b) => a - b)
  let from = 0
  for (const i of [...at, data.length]) {
    for (const s of fake.sockets) s.write(data.subarray(from, i))
    from = i
    await new Promise(resolve => setTimeout(resolve, 1))
  }
}

/** Every emitted event: a name, a known flag, string fields, typed fields of the right type. */
function wellFormed (ev: AmiEvent): string | undefined {
  if (typeof ev.event !== 'string') return 'event name is not a string'
  if (typeof ev.known !== 'boolean') return 'known is not a boolean'
  if (typeof ev.fields !== 'object' || ev.fields === null) return 'fields missing'
  for (const k of Object.keys(ev.fields)) if (typeof ev.fields[k] !== 'string') return `field ${k} is ${typeof ev.fields[k]}`
  if (ev.actionId !== undefined && typeof ev.actionId !== 'string') return 'actionId is not a string'
  if (ev.known) {
    for (const [k, v] of Object.entries(ev)) {
      if (k === 'fields' || k === 'known') continue
      if (!['string', 'number', 'boolean'].includes(typeof v)) return `typed field ${k} is ${typeof v}`
      if (typeof v === 'number' && !Number.isFinite(v)) return `typed field ${k} is not finite`
    }
  }
  return undefined
}

const KNOWN = ['Newchannel', 'Hangup', 'BridgeEnter', 'AgentCalled', 'AgentConnect', 'AgentComplete', 'BlindTransfer', 'QueueMemberPause', 'QueueMemberStatus', 'UserEvent', 'VarSet', 'Cdr']
const RESERVED = new Set(['event', 'response', 'actionid', 'variable', 'chanvariable', 'message'])
const key = fc.stringMatching(/^[A-Z][A-Za-z0-9]{0,11}$/).filter(k => !RESERVED.has(k.toLowerCase()))
// Anything on one line: AMI values cannot hold CR or LF. Leading ": " would be read as
// part of the separator, which is AMI's framing, not a parser bug.
const value = fc.string({ unit: 'grapheme', maxLength: 30 }).map(v => v.replace(/[\r\n]/g, ' ')).filter(v => !v.startsWith(' ') && !v.startsWith(':'))
const message = fc.record({
  event: fc.oneof(fc.constantFrom(...KNOWN), fc.constantFrom(...INTERNAL_NAMES), fc.stringMatching(/^Zz[A-Za-z]{1,10}$/)),
  fields: fc.uniqueArray(fc.tuple(key, value), { maxLength: 8, selector: ([k]) => k.toLowerCase() })
})
const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 8 })

t.test('well-formed events cut at random points come out whole, in order, with their fields', async t => {
  const { fake, client, events } = await setup(t)
  await fc.assert(fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 6 }), cuts, async (msgs, at) => {
    events.length = 0
    const wire = msgs.map(m => `Event: ${m.event}\r\n${m.fields.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`).join('')
    await sendInPieces(fake, Buffer.from(wire, 'utf8'), at)
    await waitFor('the events', () => events.length >= msgs.length, 3000)
    if (events.length !== msgs.length) throw new Error(`${events.length} events for ${msgs.length} messages`)
    msgs.forEach((m, i) => {
      const ev = events[i] as AmiEvent
      if (ev.event !== m.event) throw new Error(`event ${i}: ${ev.event} !== ${m.event}`)
      for (const [k, v] of m.fields) if (ev.fields[k.toLowerCase()] !== v) throw new Error(`event ${i} field ${k}: ${JSON.stringify(ev.fields[k.toLowerCase()])} !== ${JSON.stringify(v)}`)
      const bad = wellFormed(ev)
      if (bad !== undefined) throw new Error(`event ${i}: ${bad}`)
    })
    return client.ready
  }), { numRuns: RUNS })
  t.equal(client.status().connects, 1, 'never reconnected')
})

t.test('random bytes between real messages, cut anywhere: no crash, no unhandled rejection, Ping still answered, events well-formed', async t => {
  const problems: unknown[] = []
  const onProblem = (e: unknown): void => { problems.push(e) }
  process.on('unhandledRejection', onProblem)
  process.on('uncaughtException', onProblem)
  t.teardown(() => { process.off('unhandledRejection', onProblem); process.off('uncaughtException', onProblem) })
  const { fake, client, events, log } = await setup(t)
  // Bytes that mean something to the parser, so random input reaches its odd branches.
  const token = fc.constantFrom('\r\n', '\n', '\r', ': ', 'Event: ', 'Response: Follows\r\n', '--END COMMAND--\r\n', 'Response: Success\r\n', 'ActionID: CTI1-1\r\n',
    'Variable: A=B\r\n', 'ChanVariable: __proto__=x\r\n', 'Event: __proto__\r\n', 'Event: constructor\r\n', 'Event: Close\r\n', 'Event: Error\r\n', 'Event: ManagerEvent\r\n',
    'constructor: x\r\n', 'toString: y\r\n', 'Asterisk Call Manager/9.0\r\n', '\u0000', '\uFFFF', '\u2028', 'Event: AgentConnect\r\nInterface: Local/1001@agents/n\r\nHoldTime: NaN\r\n',
    'UserEvent: RawEvent\r\n', 'Response: Error\r\n', 'ActionID: CTI1-login\r\n',
    ...INTERNAL_NAMES.flatMap(n => [`Event: ${n}\r\n`, `ActionID: ${n.toLowerCase()}\r\n`, `Response: Success\r\nActionID: ${n.toLowerCase()}\r\n\r\n`]))
  const junk = fc.array(fc.oneof(fc.uint8Array({ maxLength: 64 }).map(b => Buffer.from(b)), token.map(s => Buffer.from(s, 'utf8'))), { maxLength: 20 }).map(parts => Buffer.concat(parts))
  let pings = 0
  let realOut = 0
  await fc.assert(fc.asyncProperty(junk, message, cuts, async (bytes, msg, at) => {
    events.length = 0
    const real = Buffer.from(`Event: ${msg.event}\r\n${msg.fields.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`, 'utf8')
    // Junk, then an empty line that ends whatever message the junk began, then a real one.
    await sendInPieces(fake, Buffer.concat([bytes, Buffer.from('\r\n\r\n--END COMMAND--\r\n\r\n\r\n'), real]), at)
    const pong = await client.action('Ping')
    if (pong.response !== 'Success') throw new Error(`Ping answered ${pong.response}`)
    pings++
    for (const ev of events) { const bad = wellFormed(ev); if (bad !== undefined) throw new Error(`${bad}: ${JSON.stringify(ev).slice(0, 200)}`) }
    // The real message was sent before the Ping, so it is in by now, and last.
    const last = events.at(-1)
    if (last?.event !== msg.event) throw new Error(`the message after the junk did not come out: last event ${JSON.stringify(last?.event)}, sent ${msg.event}`)
    for (const [k, v] of msg.fields) if (last.fields[k.toLowerCase()] !== v) throw new Error(`the message after the junk, field ${k}: ${JSON.stringify(last.fields[k.toLowerCase()])} !== ${JSON.stringify(v)}`)
    realOut++
    return client.ready
  }), { numRuns: RUNS })
  t.equal(pings, RUNS, 'every run ended with a Ping answered')
  t.equal(realOut, RUNS, 'in every run the real message after the junk came out whole')
  t.equal(client.status().connects, 1, 'the junk never cost the connection')
  t.same(log.at('error'), [], 'nothing logged as an error')
  await new Promise(resolve => setImmediate(resolve))
  t.same(problems, [], 'no unhandled rejection or uncaught exception')
})

t.test('found by the fuzzer: a stray "Response: Follows" while an action is in flight neither answers it nor loses its real answer', async t => {
  const fake = await FakeAmi.start({
    handler: (a, sock) => {
      if (a.headers.action !== 'Status') return false
      // asterisk-manager gives a Follows without ActionID to the last action sent.
      sock.write('Response: Follows\r\nPrivilege: Command\r\nnot yours\r\n--END COMMAND--\r\n\r\n')
      setTimeout(() => sock.write(`Response: Success\r\nActionID: ${a.headers.actionid ?? ''}\r\nMessage: the real answer\r\n\r\n`), 20)
      return true
    }
  })
  const { client } = makeClient(fake.port, { actionTimeoutMs: 1000 })
  t.teardown(async () => { await client.close(); await fake.stop() })
  const connected = once(client, 'connected')
  client.start()
  await connected
  const res = await client.action('Status')
  t.equal(res.message, 'the real answer')
})
