// The AMI adapter against a fake AMI server: each gap of asterisk-manager listed in
// CONTRACT.md section 2 has a test here that fails without the adapter's fix, plus the
// faults a real Asterisk cannot be made to produce.
import t, { type Test } from 'tap'
import { AmiError, UnsafeFieldError, type AmiEvent } from '../../src/ami/index.ts'
import { FakeAmi, type FakeAmiOptions } from '../helpers/fake-ami.ts'
import { makeClient, once, waitFor } from '../helpers/ami.ts'
import { stall } from '../helpers/stall.ts'

async function setup (t: Test, opts: FakeAmiOptions = {}, client: Parameters<typeof makeClient>[1] = {}) {
  const fake = await FakeAmi.start(opts)
  const { client: ami, log } = makeClient(fake.port, client)
  const events: AmiEvent[] = []
  ami.on('event', e => events.push(e))
  t.teardown(async () => { await ami.close(); await fake.stop() })
  const connected = once(ami, 'connected')
  ami.start()
  await connected
  return { fake, ami, log, events }
}

t.test('login sends the Events header Asterisk reads (the library sends Event:)', async t => {
  const { fake } = await setup(t, {}, { events: 'call,agent' })
  const login = fake.actionsNamed('login')[0]
  t.ok(login, 'a login was sent')
  t.equal(login?.headers.events, 'call,agent', 'Events header carries the configured mask')
  t.notOk('event' in (login?.headers ?? {}), 'no stray Event header')
  t.equal(login?.headers.username, 'cti')
})

t.test('a value with CR or LF never reaches the socket', async t => {
  const { fake, ami } = await setup(t)
  const before = fake.received
  const attacks = [
    'Budi\r\nAction: Originate\r\nChannel: Local/999@x',
    'Budi\nAction: Originate',
    'x\r\n\r\nAction: Originate\r\nChannel: PJSIP/evil\r\n\r\n',
    'nul\0byte'
  ]
  for (const value of attacks) {
    await t.rejects(ami.action('Setvar', { Variable: 'NAME', Value: value }), UnsafeFieldError, JSON.stringify(value))
    await t.rejects(ami.action('Originate', { Channel: 'Local/1@x', Variable: { NAME: value } }), UnsafeFieldError, 'inside a variable map')
  }
  await t.rejects(ami.action('Setvar', { 'Bad: key': 'x' }), UnsafeFieldError, 'a key with a colon')
  await t.rejects(ami.action('Setvar', { 'Bad\r\nKey': 'x' }), UnsafeFieldError, 'a key with CR LF')
  await t.rejects(ami.action('Bad\r\nAction', {}), UnsafeFieldError, 'an action name with CR LF')
  await t.rejects(ami.action('Setvar', { ActionID: 'mine' }), UnsafeFieldError, 'ActionID is the adapter\'s')
  await ami.action('Ping') // a round trip, so anything written before it has arrived
  t.equal(fake.received.slice(before.length).includes('Originate'), false, 'no Originate reached the server')
  t.equal(fake.actionsNamed('Setvar').length, 0, 'no refused action was written at all')
})

t.test('an action in flight when the socket drops rejects at once, not after its timeout', async t => {
  const { fake, ami } = await setup(t, { handler: a => a.headers.action === 'Slow' }, { actionTimeoutMs: 60_000 })
  const p = ami.action('Slow')
  await waitFor('the action to arrive', () => fake.actionsNamed('Slow').length === 1)
  fake.dropAll()
  const err = await p.then(() => undefined, (e: unknown) => e)
  t.type(err, AmiError)
  t.equal((err as AmiError).code, 'AMI_CONNECTION_LOST', 'rejected because the connection dropped, not by the 60 s timeout')
  t.match((err as AmiError).message, /outcome is unknown/)
})

t.test('an action that never gets a response times out with a clear error', async t => {
  const { ami } = await setup(t, { handler: a => a.headers.action === 'Slow' }, { actionTimeoutMs: 150 })
  const err = await ami.action('Slow').then(() => undefined, (e: unknown) => e)
  t.equal((err as AmiError).code, 'AMI_TIMEOUT')
  t.match((err as AmiError).message, /did not answer Slow within 150 ms/)
  t.equal(ami.state, 'connected', 'one slow action does not drop the connection')
  t.equal((await ami.action('Ping')).response, 'Success', 'later actions still work')
})

t.test('an answer that came in time is not a timeout because our own process stalled', async t => {
  // The fake shares our process: it writes the response, then blocks the loop past the
  // action's timeout (a long GC pause, a CPU-starved host), so the answer waits in the
  // kernel while the timer falls due. A bare setTimeout fires before the socket is read.
  const { ami } = await setup(t, {
    handler: (a, sock) => {
      if (a.headers.action !== 'Answered') return false
      sock.write(`Response: Success\r\nActionID: ${a.headers.actionid ?? ''}\r\nMessage: here in time\r\n\r\n`)
      stall(400)
      return true
    }
  }, { actionTimeoutMs: 150 })
  const res = await ami.action('Answered').then(r => r, (e: unknown) => e)
  t.match(res, { response: 'Success', message: 'here in time' }, 'the response that was waiting is read before the timeout decides')
})

t.test('actions while disconnected reject AMI_UNAVAILABLE and are never replayed later', async t => {
  const { fake, ami } = await setup(t)
  const port = fake.port
  const lost = once(ami, 'disconnected')
  await fake.stop()
  await lost
  const err = await ami.action('QueuePause', { Interface: 'PJSIP/1001', Paused: true }).then(() => undefined, (e: unknown) => e)
  t.equal((err as AmiError).code, 'AMI_UNAVAILABLE')
  t.match((err as AmiError).message, /was not sent/)
  // Asterisk comes back: the refused action must not be sent behind the caller's back.
  const again = await FakeAmi.start({}, port)
  t.teardown(() => again.stop())
  await once(ami, 'connected')
  await ami.action('Ping')
  t.equal(again.actionsNamed('QueuePause').length, 0, 'the refused QueuePause was not replayed')
})

t.test('reconnects by itself after the peer goes away, and says so once', async t => {
  const { fake, ami, log } = await setup(t)
  const disconnected = once(ami, 'disconnected')
  const reconnected = new Promise<void>(resolve => disconnected.then(() => ami.once('connected', () => resolve())))
  fake.dropAll()
  await disconnected
  await reconnected
  t.equal(fake.connections, 2, 'a second connection was made')
  t.equal(ami.state, 'connected')
  t.equal(log.at('warn').filter(l => /AMI disconnected/.test(l.msg ?? '')).length, 1, 'one warning for one outage')
})

t.test('list actions resolve with every item once the Complete event arrives', async t => {
  const { fake, ami } = await setup(t, {
    handler: (a, sock) => {
      if (a.headers.action !== 'CoreShowChannels') return false
      const id = a.headers.actionid ?? ''
      let out = `Response: Success\r\nActionID: ${id}\r\nEventList: start\r\nMessage: Channels will follow\r\n\r\n`
      for (const ch of ['PJSIP/a-1', 'PJSIP/b-2', 'Local/1001@agents-3;1']) {
        out += `Event: CoreShowChannel\r\nActionID: ${id}\r\nChannel: ${ch}\r\nLinkedid: 17.1\r\n\r\n`
      }
      out += `Event: CoreShowChannelsComplete\r\nActionID: ${id}\r\nEventList: Complete\r\nListItems: 3\r\n\r\n`
      // Seven bytes at a time: items and the end marker arrive split across chunks.
      let i = 0
      const tick = (): void => { if (i < out.length) { sock.write(out.slice(i, i + 7)); i += 7; setImmediate(tick) } }
      tick()
      return true
    }
  })
  const live: AmiEvent[] = []
  ami.on('event', e => live.push(e))
  const res = await ami.list('CoreShowChannels')
  t.equal(res.response.response, 'Success')
  t.same(res.items.map(i => i.fields.channel), ['PJSIP/a-1', 'PJSIP/b-2', 'Local/1001@agents-3;1'])
  t.equal(live.filter(e => e.event === 'CoreShowChannel').length, 0, 'list items are not replayed as live events')
  t.ok(fake.actionsNamed('CoreShowChannels').length === 1)
})

t.test('a refused action rejects with Asterisk\'s message', async t => {
  const { ami } = await setup(t, {
    handler: (a, sock) => {
      if (a.headers.action !== 'BlindTransfer') return false
      sock.write(`Response: Error\r\nActionID: ${a.headers.actionid ?? ''}\r\nMessage: No such channel\r\n\r\n`)
      return true
    }
  })
  const err = await ami.action('BlindTransfer', { Channel: 'Local/x', Context: 'c', Exten: '3' }).then(() => undefined, (e: unknown) => e)
  t.equal((err as AmiError).code, 'AMI_ACTION_FAILED')
  t.match((err as AmiError).message, /No such channel/)
})

t.test('events come out typed; unknown events pass through untyped', async t => {
  const { fake, events } = await setup(t)
  fake.send([
    'Event: AgentConnect\r\nQueue: pln123\r\nInterface: Local/1001@agents/n\r\nMemberName: Agent 1001\r\nChannel: Local/s@caller-1;1\r\nLinkedid: 100.1\r\nUniqueid: 100.1\r\nCallerIDNum: 0811\r\nDestChannel: Local/1001@agents-2;1\r\nDestUniqueid: 100.3\r\nDestLinkedid: 100.1\r\nHoldTime: 2\r\nRingTime: 1\r\n\r\n',
    'Event: QueueMemberPause\r\nQueue: pln123\r\nInterface: PJSIP/1001\r\nMemberName: A\r\nPaused: 1\r\nPausedReason: ACW\r\nStatus: 1\r\nInCall: 0\r\n\r\n',
    'Event: BlindTransfer\r\nResult: Success\r\nTransfererChannel: Local/1001@agents-2;1\r\nTransfereeChannel: Local/s@caller-1;1\r\nTransfereeLinkedid: 100.1\r\nContext: direct-transfer\r\nExtension: 3\r\nIsExternal: No\r\n\r\n',
    'Event: UserEvent\r\nUserEvent: IconnetArrived\r\nCallerID: 0811\r\n\r\n',
    'Event: SomethingNew\r\nFoo: bar\r\n\r\n'
  ].join(''))
  await waitFor('5 events', () => events.filter(e => e.event !== 'FullyBooted').length >= 5)
  const byName = new Map(events.map(e => [e.event, e]))
  const ac = byName.get('AgentConnect')
  t.ok(ac?.known)
  if (ac?.known === true && ac.event === 'AgentConnect') {
    t.equal(ac.destChannel, 'Local/1001@agents-2;1', 'the member leg is the DestChannel')
    t.equal(ac.channel, 'Local/s@caller-1;1')
    t.equal(ac.linkedid, '100.1')
    t.equal(ac.interface, 'Local/1001@agents/n')
    t.equal(ac.holdTime, 2)
  }
  const qp = byName.get('QueueMemberPause')
  if (qp?.known === true && qp.event === 'QueueMemberPause') {
    t.equal(qp.paused, true)
    t.equal(qp.pausedReason, 'ACW')
  } else t.fail('QueueMemberPause typed')
  const bt = byName.get('BlindTransfer')
  if (bt?.known === true && bt.event === 'BlindTransfer') {
    t.equal(bt.success, true)
    t.equal(bt.transfereeLinkedid, '100.1')
    t.equal(bt.extension, '3')
  } else t.fail('BlindTransfer typed')
  const ue = byName.get('UserEvent')
  t.equal(ue?.known === true && ue.event === 'UserEvent' ? ue.userEvent : '', 'IconnetArrived')
  const other = byName.get('SomethingNew')
  t.equal(other?.known, false)
  t.equal(other?.fields.foo, 'bar')
})

t.test('garbage bytes, 1-byte chunks and a fake "Close" event do not break the connection', async t => {
  const { fake, ami, events } = await setup(t)
  let disconnects = 0
  ami.on('disconnected', () => { disconnects++ })
  fake.send('\x00\xff\xfe garbage without colon\r\n:::\r\n: empty key\r\n\r\n')
  fake.send('Event: Close\r\n\r\nEvent: Error\r\nMessage: x\r\n\r\nEvent: Connect\r\n\r\nEvent: __proto__\r\n__proto__: polluted\r\nconstructor: x\r\n\r\n')
  fake.send('Response: Success\r\nActionID: close\r\n\r\nResponse: Success\r\nActionID: error\r\n\r\n')
  await fake.sendChunked('Event: Hangup\r\nChannel: PJSIP/1-1\r\nLinkedid: 9.9\r\nCause: 16\r\nCause-txt: Normal Clearing\r\n\r\n', 1)
  await waitFor('the split Hangup', () => events.find(e => e.event === 'Hangup'))
  const h = events.find(e => e.event === 'Hangup')
  if (h?.known === true && h.event === 'Hangup') {
    t.equal(h.channel, 'PJSIP/1-1')
    t.equal(h.cause, 16)
    t.equal(h.causeText, 'Normal Clearing')
  } else t.fail('Hangup typed')
  t.equal(disconnects, 0, 'no disconnect from garbage or an event named Close')
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched')
  t.equal((await ami.action('Ping')).response, 'Success', 'still usable')
})

t.test('a peer that closes mid-message: reconnect, no crash, nothing half-parsed', async t => {
  const { fake, ami, events } = await setup(t)
  const lost = once(ami, 'disconnected')
  for (const s of fake.sockets) s.end('Event: Hangup\r\nChannel: PJSIP/half')
  await lost
  await once(ami, 'connected')
  t.equal(events.filter(e => e.event === 'Hangup').length, 0, 'the half message is not emitted')
  t.equal(ami.state, 'connected')
})

t.test('a handler that throws does not take the adapter down', async t => {
  const { fake, ami, log } = await setup(t)
  ami.on('event', e => { if (e.event === 'Boom') throw new Error('consumer bug') })
  fake.send('Event: Boom\r\n\r\n')
  await waitFor('the error to be logged', () => log.at('error').length > 0)
  t.match(log.at('error')[0]?.msg, /handler failed/)
  t.equal((await ami.action('Ping')).response, 'Success')
})

t.test('wrong credentials: clear reason, back-off, one warning not one per attempt', async t => {
  const fake = await FakeAmi.start({ rejectLogin: 'Authentication failed' })
  const { client: ami, log } = makeClient(fake.port, { reconnect: { initialMs: 20, maxMs: 80 } })
  t.teardown(async () => { await ami.close(); await fake.stop() })
  ami.start()
  await waitFor('five attempts', () => fake.connections >= 5)
  t.equal(ami.state === 'connected', false)
  t.match(ami.status().lastError, /login refused for user "cti": Authentication failed/)
  const warns = log.at('warn').filter(l => /AMI disconnected/.test(l.msg ?? ''))
  t.equal(warns.length, 1, `${fake.connections} failed attempts, one warning`)
  t.ok(ami.status().reconnectAttempts >= 4, 'back-off counts attempts')
})

t.test('a peer that stops answering is noticed by the Ping keepalive', async t => {
  let silent = false
  const { fake, ami } = await setup(t, { handler: () => silent }, { pingIntervalMs: 100, actionTimeoutMs: 150 })
  const lost = once(ami, 'disconnected')
  silent = true
  const [reason] = await lost
  t.match(reason, /Ping timed out/)
  silent = false
  await once(ami, 'connected')
  t.ok(fake.connections >= 2)
})

t.test('a peer that accepts but never greets or answers login: connect timeout, retry', async t => {
  const fake = await FakeAmi.start({ handler: () => true })
  const { client: ami } = makeClient(fake.port, { connectTimeoutMs: 100 })
  t.teardown(async () => { await ami.close(); await fake.stop() })
  ami.start()
  await waitFor('two attempts', () => fake.connections >= 2)
  t.match(ami.status().lastError, /not logged in within 100 ms/)
  await t.rejects(ami.action('Ping'), { code: 'AMI_UNAVAILABLE' })
})

t.test('close() rejects what is in flight and stops reconnecting', async t => {
  const fake = await FakeAmi.start({ handler: a => a.headers.action === 'Slow' })
  t.teardown(() => fake.stop())
  const { client: ami } = makeClient(fake.port, { actionTimeoutMs: 60_000 })
  const up = once(ami, 'connected')
  ami.start()
  await up
  const p = ami.action('Slow')
  await waitFor('Slow sent', () => fake.actionsNamed('Slow').length === 1)
  await ami.close()
  await t.rejects(p, { code: 'AMI_UNAVAILABLE' })
  const n = fake.connections
  await new Promise(resolve => setTimeout(resolve, 200))
  t.equal(fake.connections, n, 'no reconnect after close')
  t.equal(ami.state, 'closed')
})

const MiB = 1024 * 1024
const floods: Array<[string, string, Buffer]> = [
  ['a line without an end (64 MiB, no newline)', '', Buffer.alloc(64 * 1024, 'A')],
  ['a message without an end (64 MiB of header lines, no blank line)', 'Event: Hangup\r\n', Buffer.from('X-Filler: 0123456789abcdef\r\n'.repeat(2048))],
  ['a "Response: Follows" that never ends (64 MiB, blank lines inside)', 'Response: Follows\r\nPrivilege: Command\r\n', Buffer.from('output line\r\n\r\n'.repeat(4096))]
]
for (const [what, head, pattern] of floods) {
  t.test(`${what}: dropped at the message limit with a logged reason, reconnected, memory bounded`, async t => {
    let flood: Promise<number> | undefined
    const fake = await FakeAmi.start({
      handler: (a, sock, f) => {
        if ((a.headers.action ?? '').toLowerCase() !== 'login' || f.connections > 1) return false
        sock.write(`Response: Success\r\nActionID: ${a.headers.actionid ?? ''}\r\nMessage: Authentication accepted\r\n\r\n${head}`)
        flood = f.flood(sock, pattern, 64 * MiB)
        return true
      }
    })
    const { client: ami, log } = makeClient(fake.port) // maxMessageBytes left at its default, 1 MiB
    const events: AmiEvent[] = []
    ami.on('event', e => events.push(e))
    t.teardown(async () => { await ami.close(); await fake.stop() })
    let reason: string | undefined
    ami.once('disconnected', r => { reason = r })
    const rss0 = process.memoryUsage.rss()
    let peak = rss0
    const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()) }, 5)
    t.teardown(() => clearInterval(sampler))
    ami.start()
    await waitFor('the adapter to drop the flooding connection', () => reason, 60_000)
    await waitFor('the reconnect', () => ami.status().connects === 2 && ami.ready, 60_000)
    peak = Math.max(peak, process.memoryUsage.rss())
    clearInterval(sampler)
    t.match(reason, /more than 1048576 bytes without ending a message \(ami\.maxMessageBytes\)/, `reason: ${reason ?? ''}`)
    t.ok(log.at('warn').some(l => /AMI disconnected: .*1048576 bytes.*ami\.maxMessageBytes/.test(l.msg ?? '')), 'a warning names the limit')
    const sent = await flood
    t.ok(sent !== undefined && sent < 64 * MiB, `the adapter stopped reading: ${((sent ?? 0) / MiB).toFixed(1)} MiB of 64 went out`)
    t.ok(peak - rss0 < 32 * MiB, `RSS grew ${((peak - rss0) / MiB).toFixed(1)} MiB while the peer flooded (bound 32 MiB)`)
    fake.send('Event: Hangup\r\nChannel: PJSIP/after-flood\r\nLinkedid: 1.1\r\nCause: 16\r\n\r\n')
    await waitFor('an event on the new session', () => events.find(e => e.event === 'Hangup' && e.fields.channel === 'PJSIP/after-flood'))
    t.equal((await ami.action('Ping')).response, 'Success', 'the new session works')
  })
}

t.test('a message just under the limit still comes through whole', async t => {
  const { fake, ami, events } = await setup(t, {}, { maxMessageBytes: 64 * 1024 })
  const big = 'x'.repeat(60 * 1024)
  await fake.sendChunked(`Event: UserEvent\r\nUserEvent: Big\r\nBody: ${big}\r\n\r\n`, 7 * 1024)
  const ev = await waitFor('the big event', () => events.find(e => e.event === 'UserEvent'))
  t.equal(ev.fields.body, big)
  t.equal(ami.status().connects, 1, 'not dropped')
})

/** The adapter's 'AMI reconnect scheduled' debug lines, in order. */
const scheduled = (log: { at: (l: string) => Array<{ obj: unknown, msg: string | undefined }> }): Array<{ attempt: number, delayMs: number }> =>
  log.at('debug').filter(l => l.msg === 'AMI reconnect scheduled').map(l => l.obj as { attempt: number, delayMs: number })

t.test('a peer that closes every session right after login: the back-off keeps growing (no reconnect storm)', async t => {
  const fake = await FakeAmi.start({
    handler: (a, sock) => {
      if ((a.headers.action ?? '').toLowerCase() !== 'login') return false
      sock.end(`Response: Success\r\nActionID: ${a.headers.actionid ?? ''}\r\nMessage: Authentication accepted\r\n\r\n`)
      return true
    }
  })
  const INITIAL = 10
  const MAX = 80
  const { client: ami, log } = makeClient(fake.port, { reconnect: { initialMs: INITIAL, maxMs: MAX } }) // stableMs at its default, 30 s
  t.teardown(async () => { await ami.close(); await fake.stop() })
  ami.start()
  await waitFor('six sessions', () => fake.connections >= 6 && scheduled(log).length >= 5, 30_000)
  const s = scheduled(log).slice(0, 5)
  t.same(s.map(x => x.attempt), [1, 2, 3, 4, 5], 'every short session counts as one more attempt: login does not reset the back-off')
  for (const x of s) {
    const ceiling = Math.min(MAX, INITIAL * 2 ** (x.attempt - 1))
    t.ok(x.delayMs >= ceiling / 2 && x.delayMs <= ceiling, `attempt ${x.attempt}: ${x.delayMs} ms within [${ceiling / 2}, ${ceiling}]`)
  }
  t.ok(ami.status().connects >= 1, 'the logins did succeed')
  t.ok(ami.status().reconnectAttempts >= 5, 'status counts the attempts')
})

t.test('the back-off resets once a session stayed up for reconnect.stableMs', async t => {
  let shortLived = 3
  const fake = await FakeAmi.start({
    handler: (a, sock) => {
      if ((a.headers.action ?? '').toLowerCase() !== 'login' || shortLived === 0) return false
      shortLived--
      sock.end(`Response: Success\r\nActionID: ${a.headers.actionid ?? ''}\r\nMessage: Authentication accepted\r\n\r\n`)
      return true
    }
  })
  const { client: ami, log } = makeClient(fake.port, { reconnect: { initialMs: 10, maxMs: 80, stableMs: 500 } })
  t.teardown(async () => { await ami.close(); await fake.stop() })
  ami.start()
  await waitFor('a session that stays', () => fake.connections === 4 && ami.ready, 30_000)
  t.same(scheduled(log).map(x => x.attempt), [1, 2, 3], 'the three short sessions count as attempts')
  await waitFor('the back-off to reset after a stable session', () => ami.status().reconnectAttempts === 0, 30_000)
  t.equal(ami.status().connects, 4)
  fake.dropAll()
  await waitFor('the next reconnect to be scheduled', () => scheduled(log).length === 4, 30_000)
  t.equal(scheduled(log)[3]?.attempt, 1, 'after a stable session the back-off starts again from the first step')
})
