// asterisk-manager 0.2.0 re-emits every AMI event on its own EventEmitter under the
// event's lower-cased name, and every response under its ActionID, beside the names it
// uses itself: its parse hook 'rawevent' (an `Event: RawEvent` re-entered the parser
// through process.nextTick forever, so no timer fired again), 'managerevent',
// 'response', 'asterisk', the socket's 'connect', 'close', 'end' and 'error'. A peer
// must not be able to reach any of them: each such event comes out once, as an
// ordinary event, the process keeps running (a timer fires after each), the session
// stays up, and the events after it come through.
import t, { type Test } from 'tap'
import type { AmiEvent } from '../../src/ami/index.ts'
import { FakeAmi } from '../helpers/fake-ami.ts'
import { INTERNAL_NAMES, makeClient, once, waitFor } from '../helpers/ami.ts'

/** Resolves when a timer fires: proof the event loop still turns. */
const timerFires = async (): Promise<true> => await new Promise(resolve => setTimeout(() => resolve(true), 5))

async function setup (t: Test) {
  const problems: unknown[] = []
  const onProblem = (e: unknown): void => { problems.push(e) }
  process.on('unhandledRejection', onProblem)
  process.on('uncaughtException', onProblem)
  const fake = await FakeAmi.start()
  const { client, log } = makeClient(fake.port)
  const events: AmiEvent[] = []
  client.on('event', e => events.push(e))
  let disconnects = 0
  client.on('disconnected', () => { disconnects++ })
  t.teardown(async () => {
    process.off('unhandledRejection', onProblem)
    process.off('uncaughtException', onProblem)
    await client.close()
    await fake.stop()
  })
  const up = once(client, 'connected')
  client.start()
  await up
  return { fake, client, log, events, problems, disconnects: () => disconnects }
}

const hangup = (tag: string): string => `Event: Hangup\r\nChannel: PJSIP/after-${tag}\r\nLinkedid: 1.1\r\nCause: 16\r\n\r\n`
const hangupSeen = (events: AmiEvent[], tag: string): boolean => events.some(e => e.event === 'Hangup' && e.fields.channel === `PJSIP/after-${tag}`)

t.test('an event named like an internal event of asterisk-manager (RawEvent, Close, ...) is an ordinary event: no freeze, session intact', async t => {
  const { fake, client, events, problems, disconnects } = await setup(t)
  const names = [...INTERNAL_NAMES, ...INTERNAL_NAMES.map(n => n.toUpperCase())]
  for (const [i, name] of names.entries()) {
    fake.send(`Event: ${name}\r\nMarker: m${i}\r\n\r\n${hangup(String(i))}`)
    await waitFor(`the Hangup after Event: ${name}`, () => hangupSeen(events, String(i)))
    t.equal(await timerFires(), true, `a timer fires after Event: ${name}`)
    t.equal(events.filter(e => e.fields.marker === `m${i}`).map(e => e.event).join(), name, `Event: ${name} comes out once, as itself`)
  }
  // UserEvent is re-emitted as 'userevent-<name>' too.
  fake.send(`Event: UserEvent\r\nUserEvent: RawEvent\r\nMarker: user\r\n\r\n${hangup('user')}`)
  await waitFor('the Hangup after the UserEvent', () => hangupSeen(events, 'user'))
  t.equal(events.filter(e => e.fields.marker === 'user').length, 1, 'UserEvent: RawEvent comes out once')
  t.equal((await client.action('Ping')).response, 'Success', 'the session still answers')
  t.equal(client.status().connects, 1, 'never reconnected')
  t.equal(disconnects(), 0, 'never disconnected')
  await new Promise(resolve => setImmediate(resolve))
  t.same(problems, [], 'no uncaught exception or unhandled rejection')
})

t.test('a response whose ActionID is an internal event name (rawevent, error, connect, ...) is dropped: no crash, session intact', async t => {
  const { fake, client, events, problems, disconnects } = await setup(t)
  const ids = [...INTERNAL_NAMES.map(n => n.toLowerCase()), 'newListener', 'CTI1-999', 'CTI0-login']
  for (const [i, id] of ids.entries()) {
    fake.send(`Response: Success\r\nActionID: ${id}\r\n\r\nResponse: Error\r\nActionID: ${id}\r\nMessage: x\r\n\r\n${hangup(`r${i}`)}`)
    await waitFor(`the Hangup after ActionID: ${id}`, () => hangupSeen(events, `r${i}`))
    t.equal(await timerFires(), true, `a timer fires after ActionID: ${id}`)
  }
  t.equal((await client.action('Ping')).response, 'Success', 'the session still answers')
  t.equal(client.status().connects, 1, 'never reconnected')
  t.equal(disconnects(), 0, 'never disconnected')
  await new Promise(resolve => setImmediate(resolve))
  t.same(problems, [], 'no uncaught exception or unhandled rejection')
})
