// The transfer benchmark's CPU split by thread (test/bench/lib/threads.ts): the main
// thread is the one whose tid is the pid; the busiest other thread over the interval (the
// store's worker on SQLite) apart from the rest; threads born during the interval count
// from zero.
import t from 'tap'
import { threadSplit } from '../bench/lib/threads.ts'

t.test('the main thread by its tid, the busiest other by what it used in the interval, not in all', async t => {
  const before = { pid: 10, threads: [{ tid: 10, cpuNs: 5e9 }, { tid: 11, cpuNs: 9e9 }, { tid: 12, cpuNs: 1e6 }] }
  // tid 11 used a lot before but only 1 ms now; tid 12 used 30 ms now.
  const after = { pid: 10, threads: [{ tid: 10, cpuNs: 5e9 + 40e6 }, { tid: 11, cpuNs: 9e9 + 1e6 }, { tid: 12, cpuNs: 1e6 + 30e6 }] }
  t.same(threadSplit(before, after), { mainMs: 40, busiestOtherMs: 30, restMs: 1 })
})

t.test('a thread born in the interval counts from zero', async t => {
  const before = { pid: 1, threads: [{ tid: 1, cpuNs: 0 }] }
  const after = { pid: 1, threads: [{ tid: 1, cpuNs: 2e6 }, { tid: 7, cpuNs: 5e6 }] }
  t.same(threadSplit(before, after), { mainMs: 2, busiestOtherMs: 5, restMs: 0 })
})

t.test('no split where the process could not read its threads', async t => {
  t.equal(threadSplit({ pid: 1, threads: [] }, { pid: 1, threads: [] }), undefined)
})
