// deadline(): a wait for an answer that gives up after `ms`, but only once what has
// arrived meanwhile has been read. The stall of our own process is made here by blocking
// the loop; the answer is a message on a MessagePort, as the SQLite worker's commits are.
import t from 'tap'
import { MessageChannel } from 'node:worker_threads'
import { setTimeout as sleep } from 'node:timers/promises'
import { deadline } from '../../src/deadline.ts'
import { durableWithin } from '../../src/calls/durable.ts'
import { stall } from '../helpers/stall.ts'

const durability = { ready: () => true, why: () => 'the store is away', commitTimeoutMs: 100 }

t.test('a commit confirmed in time is not a 503 because the process stalled past the commit timeout', async t => {
  const { port1, port2 } = new MessageChannel()
  t.teardown(() => { port1.close() })
  const saved = new Promise<void>(resolve => port1.once('message', () => { resolve() }))
  const request = durableWithin(saved, durability, 'call c1 was not transferred')
  port2.postMessage('committed') // the worker's answer, in time
  stall(300)
  await t.resolves(request, 'the answer that was waiting is read before the timeout decides')
})

t.test('a commit that does not come: STORE_UNAVAILABLE after the commit timeout', async t => {
  const request = durableWithin(new Promise<void>(() => {}), durability, 'call c1 was not transferred')
  await t.rejects(request, { code: 'STORE_UNAVAILABLE', message: /call c1 was not transferred: the store did not confirm it within 100 ms/ })
})

t.test('cancel() also stops a verdict already put off to the next turn', async t => {
  let expired = 0
  const d = deadline(20, () => { expired++ })
  // Due in the same timers phase, after the deadline's own timer: it cancels in between.
  setTimeout(() => { d.cancel() }, 20)
  stall(40)
  await sleep(60)
  t.equal(expired, 0, 'cancelled between the timer and its deferred verdict')
  const fired = await new Promise<number>(resolve => { const started = performance.now(); deadline(20, () => { resolve(performance.now() - started) }) })
  t.ok(fired >= 19, `an uncancelled deadline expires after its time (${Math.round(fired)} ms)`)
})
