// Retry delays: exponential, capped, never zero, jittered within the upper half.
import t from 'tap'
import fc from 'fast-check'
import { backoffDelay } from '../../src/backoff.ts'

t.test('doubles per attempt from initialMs, up to maxMs', async t => {
  const top = (): number => 1 // the random source at its maximum: the ceiling itself
  t.strictSame([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(a => backoffDelay(a, 1000, 60_000, top)), [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000, 60000])
  t.equal(backoffDelay(500, 1000, 60_000, top), 60000, 'a huge attempt count does not overflow')
})

t.test('jitter spreads over the upper half of the ceiling', async t => {
  t.equal(backoffDelay(3, 1000, 60_000, () => 0), 2000)
  t.equal(backoffDelay(3, 1000, 60_000, () => 0.5), 3000)
})

t.test('property: always within [ceiling/2, ceiling] and never above maxMs', async t => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 1_000_000 }), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, initialMs, maxMs, r) => {
    const d = backoffDelay(attempt, initialMs, maxMs, () => r)
    const ceiling = Math.min(maxMs, initialMs * 2 ** (attempt - 1))
    return d >= Math.floor(ceiling / 2) && d <= Math.ceil(ceiling) && d <= maxMs
  }))
  t.pass('held')
})
