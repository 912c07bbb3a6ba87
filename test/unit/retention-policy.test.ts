// Retention's pure parts: the cutoff, and the batch size that adapts to a time budget.
import t from 'tap'
import { cutoffFor } from '../../src/retention/policy.ts'
import { nextSize } from '../../src/retention/purger.ts'

t.test('cutoff: days before now, as the store writes times', async t => {
  t.equal(cutoffFor(400, new Date('2026-12-02T06:00:00.000Z')), '2025-10-28T06:00:00.000Z')
  t.equal(cutoffFor(1, new Date('2026-03-01T00:00:00.000Z')), '2026-02-28T00:00:00.000Z')
})

t.test('batch size: shrinks to the budget, grows slowly, stays within 10..max', async t => {
  t.equal(nextSize(500, 14, 2, 500), 71, 'a 14 ms batch of 500 -> about 2 ms worth')
  t.equal(nextSize(20, 100, 2, 500), 10, 'never below 10 rows')
  t.equal(nextSize(100, 0.5, 2, 500), 125, 'well under budget: +25%')
  t.equal(nextSize(480, 0.5, 2, 500), 500, 'never above batchSize')
  t.equal(nextSize(100, 1.5, 2, 500), 100, 'near the budget: unchanged')
  t.equal(nextSize(1, 50, 2, 1), 1, 'batchSize 1 stays 1')
})
