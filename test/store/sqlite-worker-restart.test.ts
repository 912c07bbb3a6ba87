// The SQLite worker thread dying (a bug in it, its heap exhausted): the run it had in
// hand fails as "unavailable" (the journal keeps such a batch and tries it again), a
// new worker opens the same file, and the store takes writes again with everything
// committed before the death still there. Before, one dead thread left the service in
// a store outage until it was restarted.
import os from 'node:os'
import path from 'node:path'
import { mkdtempSync, rmSync } from 'node:fs'
import type { Worker } from 'node:worker_threads'
import t from 'tap'
import { apktMigrations } from '../../src/apkt/migrations.ts'
import type { Call } from '../../src/calls/types.ts'
import { Journal } from '../../src/store/journal.ts'
import { migrations } from '../../src/store/migrations.ts'
import { openSqliteStore } from '../../src/store/sqlite/index.ts'
import { kCurrentWorker } from '../../src/store/sqlite/worker-runner.ts'
import type { Store } from '../../src/store/port.ts'
import { silentLog as silent } from '../../src/log.ts'

const ALL = [...migrations, ...apktMigrations]
const dir = mkdtempSync(path.join(os.tmpdir(), 'pln123-worker-restart-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const NOW = '2026-12-02T03:00:00.000Z'
const call = (callId: string): Call => ({ callId, state: 'connected', agentId: '1001', offeredAt: NOW, source: 'ami' })
const workerOf = (store: Store): Worker => (store as unknown as Record<symbol, () => Worker>)[kCurrentWorker]?.() as Worker

async function until<T> (what: string, fn: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await fn().catch(() => undefined)
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

t.test('a worker that dies is replaced; the failed run is "unavailable"; what was committed stays', async t => {
  const store = await openSqliteStore(path.join(dir, 'a.db'), ALL, { mode: 'worker' })
  t.teardown(async () => { await store.close() })
  await store.commit([{ kind: 'call', call: call('before') }])
  const first = workerOf(store)
  t.ok(first, 'the test can reach the worker')

  // A run in flight when the thread ends: its commit rejects as unavailable, never hangs.
  const inFlight = store.commit([{ kind: 'call', call: call('in-flight') }]).then(() => 'committed', (e: unknown) => e)
  await first.terminate()
  const outcome = await inFlight
  if (outcome !== 'committed') t.ok(store.isUnavailable(outcome), `the run in hand failed as unavailable (${String(outcome)})`)

  // A new worker on the same file takes writes again.
  await until('a commit after the restart', async () => { await store.commit([{ kind: 'call', call: call('after') }]); return true })
  t.not(workerOf(store), first, 'a new worker runs the store')
  t.equal((await store.calls.get('before'))?.callId, 'before', 'committed before the death: still there')
  t.equal((await store.calls.get('after'))?.callId, 'after')
  await store.check()
})

t.test('through the journal: a batch caught by the death is kept and written once the new worker is up', async t => {
  const store = await openSqliteStore(path.join(dir, 'b.db'), ALL, { mode: 'worker' })
  const journal = new Journal({ store, log: silent, retryMs: 20, maxRetryMs: 100 })
  // The journal's retry timer is unref'd (an outage must not hold a stopping process);
  // in the service the HTTP server keeps the process up, here this does.
  const alive = setInterval(() => {}, 1000)
  t.teardown(() => { clearInterval(alive) })
  t.teardown(async () => { await journal.close(2000); await store.close() })
  const worker = workerOf(store)
  const gone = worker.terminate()
  const writes = ['j1', 'j2', 'j3'].map(id => journal.add({ kind: 'call', call: call(id) }))
  await gone
  await Promise.all(writes)
  for (const id of ['j1', 'j2', 'j3']) t.equal((await store.calls.get(id))?.callId, id, `${id} written`)
  t.ok(journal.healthy, 'the journal is healthy again')
})
