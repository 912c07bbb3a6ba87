// The worker that owns the SQLite connection (worker-runner.ts starts it through
// worker-boot.mjs). Each run of jobs the main thread sends executes here, so the
// statements and the commit's fsync never hold the service's event loop.
import { parentPort, workerData } from 'node:worker_threads'
import type { Migration } from '../migrations.ts'
import { openStore } from '../sqlite.ts'
import { SqliteEngine } from './engine.ts'
import { errorToData, type Job } from './jobs.ts'

export interface WorkerData { file: string, migrations: Migration[], pragmas: string[] }
export type ToWorker = { type: 'run', id: number, jobs: Job[] } | { type: 'close' }
export type FromWorker =
  | { type: 'open', migrated: number[] }
  | { type: 'open-failed', error: ReturnType<typeof errorToData> }
  | { type: 'done', id: number, outcomes: Array<{ ok: true, value: unknown } | { ok: false, error: ReturnType<typeof errorToData> }> }
  | { type: 'closed' }

const port = parentPort
if (port === null) throw new Error('worker.ts runs in a worker thread')
const post = (m: FromWorker): void => { port.postMessage(m) }
const { file, migrations, pragmas } = workerData as WorkerData

let engine: SqliteEngine | undefined
try {
  const sqlite = openStore(file, migrations)
  for (const p of pragmas) sqlite.db.pragma(p)
  engine = new SqliteEngine(sqlite)
  post({ type: 'open', migrated: sqlite.migrated })
} catch (err) {
  post({ type: 'open-failed', error: errorToData(err) })
  port.close()
}

port.on('message', (m: ToWorker) => {
  if (engine === undefined) return
  if (m.type === 'close') {
    engine.close()
    engine = undefined
    post({ type: 'closed' })
    port.close()
    return
  }
  const outcomes = engine.run(m.jobs).map(o => o.ok ? o : { ok: false as const, error: errorToData(o.error) })
  try {
    post({ type: 'done', id: m.id, outcomes })
  } catch (err) {
    // A value that cannot be cloned is a bug here; answer every job of the run with it.
    post({ type: 'done', id: m.id, outcomes: m.jobs.map(() => ({ ok: false as const, error: errorToData(err) })) })
  }
})
