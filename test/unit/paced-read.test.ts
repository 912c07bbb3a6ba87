import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { pacedRead } from '../../src/live/paced-read.ts'

t.test('a burst of asks: one read at once, one more after the pause, never two at a time', async t => {
  const starts: number[] = []
  let running = 0
  let overlapped = false
  const p = pacedRead(async () => {
    starts.push(performance.now())
    running++
    if (running > 1) overlapped = true
    await sleep(5)
    running--
  }, 60)
  const t0 = performance.now()
  for (let i = 0; i < 200; i++) p.ask()
  t.equal(starts.length, 1, 'the first ask reads at once')
  await sleep(20)
  for (let i = 0; i < 200; i++) p.ask()
  await sleep(150)
  t.equal(starts.length, 2, '400 asks in a burst: two reads, not 400')
  t.ok((starts[1] as number) - t0 >= 59, `the second read waited for the pause (${Math.round((starts[1] as number) - t0)} ms)`)
  t.equal(overlapped, false, 'never two reads at a time')
  p.stop()
})

t.test('an ask after the last read always gets a read of its own (the last state is published)', async t => {
  let reads = 0
  const p = pacedRead(async () => { reads++; await sleep(30) }, 10)
  p.ask()
  await sleep(5)
  p.ask() // during the read: one more after it
  await sleep(80)
  t.equal(reads, 2)
  p.ask()
  await sleep(20)
  t.equal(reads, 3, 'asked once more, read once more')
  p.stop()
  p.ask()
  await sleep(30)
  t.equal(reads, 3, 'stopped: no more reads')
})

t.test('a failing read does not stop the next ones', async t => {
  let reads = 0
  const p = pacedRead(async () => { reads++; throw new Error('store away') }, 0)
  p.ask()
  await sleep(5)
  p.ask()
  await sleep(5)
  t.equal(reads, 2)
  p.stop()
})
