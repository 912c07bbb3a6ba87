// The soak's verdict on APKT records (test/bench/lib/records.ts): distinct records per
// call, exactly one each. It used to count calls with at least one post, so a second
// record for a call went unseen.
import t from 'tap'
import { tallyRecords } from '../bench/lib/records.ts'

const recs = (entries: Record<string, string[]>): Map<string, Set<string>> => new Map(Object.entries(entries).map(([k, v]) => [k, new Set(v)]))

t.test('one distinct record per call: met, however often each was posted', async t => {
  // A retried post carries the same Idempotency-Key (record id): the same record.
  const tally = tallyRecords(3, ['c1', 'c2', 'c3'], recs({ c1: ['r1'], c2: ['r2', 'r2'], c3: ['r3'] }))
  t.same(tally, { none: 0, one: 3, moreThanOne: 0, unknownCalls: 0, records: 3, exactlyOne: true })
})

t.test('a second record for a call is seen and fails the verdict', async t => {
  const tally = tallyRecords(2, ['c1', 'c2'], recs({ c1: ['r1', 'r1-again'], c2: ['r2'] }))
  t.equal(tally.moreThanOne, 1)
  t.equal(tally.one, 1)
  t.equal(tally.exactlyOne, false)
})

t.test('a call without a record, or one the driver never learnt the id of, counts as none', async t => {
  const tally = tallyRecords(3, ['c1', 'c2'], recs({ c1: ['r1'] }))
  t.equal(tally.none, 2, 'c2 and the call without an id')
  t.equal(tally.exactlyOne, false)
})

t.test('records for calls the driver did not place fail the verdict', async t => {
  const tally = tallyRecords(1, ['c1'], recs({ c1: ['r1'], stranger: ['r9'] }))
  t.equal(tally.unknownCalls, 1)
  t.equal(tally.exactlyOne, false)
})
