// The connection in a worker thread (worker.ts): front.ts sends each run of queued
// jobs over; jobs handed in meanwhile wait here and form the next run (group commit).
import { Worker } from 'node:worker_threads'
import type { Migration } from '../migrations.ts'
import type { Store } from '../port.ts'
import { storeFront } from './front.ts'
import { errorFromData, type Outcome } from './jobs.ts'
import type { FromWorker, ToWorker, WorkerData } from './worker.ts'

/** The worker is gone (it crashed or was terminated): nothing more can be written. */
export class StoreWorkerGoneError extends Error {
  override readonly name = 'StoreWorkerGoneError'
  readonly code = 'STORE_WORKER_GONE'
}

const PRELOADS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader'])

/**
 * The process's flags a worker may take: the worker registers tsx itself
 * (worker-boot.mjs), and what else the main thread preloads (a test runner's hooks, an
 * APM agent) has no business in the thread that only runs SQL (under tap they made each
 * worker start take seconds). V8's per-process flags (--max-old-space-size, --expose-gc,
 * --trace-gc, ...) are refused by a Worker (ERR_WORKER_INVALID_EXEC_ARGV): a service
 * started with one would not start. So only flags known to be per-thread pass.
 */
const PER_THREAD = new Set(['--enable-source-maps', '--no-warnings', '--no-deprecation', '--throw-deprecation', '--trace-warnings', '--conditions', '-C'])

function workerFlags (argv: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string
    const flag = a.split('=')[0] as string
    const takesNext = (flag === '--conditions' || flag === '-C' || PRELOADS.has(flag)) && !a.includes('=')
    if (PER_THREAD.has(flag) || flag.startsWith('--experimental-')) {
      out.push(a)
      if (takesNext && argv[i + 1] !== undefined) out.push(argv[++i] as string)
    } else if (takesNext) {
      i++ // its value is the next argument
    }
  }
  return out
}

export async function openInWorker (file: string, migrations: Migration[], pragmas: string[] = []): Promise<Store> {
  const data: WorkerData = { file, migrations, pragmas }
  const worker = new Worker(new URL('./worker-boot.mjs', import.meta.url), { workerData: data, execArgv: workerFlags(process.execArgv) })
  let gone: Error | undefined
  let waiting: { id: number, resolve: (o: Outcome[]) => void, reject: (e: Error) => void } | undefined
  let closed: (() => void) | undefined
  let nextId = 0

  const migrated = await new Promise<number[]>((resolve, reject) => {
    const onMessage = (m: FromWorker): void => {
      worker.off('error', onError)
      worker.off('exit', onExit)
      worker.off('message', onMessage)
      if (m.type === 'open') resolve(m.migrated)
      else if (m.type === 'open-failed') reject(errorFromData(m.error))
      else reject(new Error(`sqlite worker: unexpected ${m.type} before open`))
    }
    const onError = (err: Error): void => { reject(err) }
    const onExit = (code: number): void => { reject(new StoreWorkerGoneError(`the sqlite worker exited (${code}) while opening ${file}`)) }
    worker.on('message', onMessage)
    worker.once('error', onError)
    worker.once('exit', onExit)
  })

  const fail = (err: Error): void => {
    gone ??= err
    const w = waiting
    waiting = undefined
    w?.reject(gone)
  }
  worker.on('message', (m: FromWorker) => {
    if (m.type === 'done' && waiting?.id === m.id) {
      const w = waiting
      waiting = undefined
      w.resolve(m.outcomes.map(o => o.ok ? o : { ok: false, error: errorFromData(o.error) }))
    } else if (m.type === 'closed') closed?.()
  })
  worker.on('error', err => { fail(err) })
  worker.on('exit', code => { fail(new StoreWorkerGoneError(`the sqlite worker for ${file} exited (${code})`)); closed?.() })
  worker.unref() // idle: an open store alone does not keep the process alive

  return storeFront({
    run: async jobs => {
      if (gone !== undefined) throw gone
      return await new Promise<Outcome[]>((resolve, reject) => {
        waiting = { id: ++nextId, resolve, reject }
        const msg: ToWorker = { type: 'run', id: nextId, jobs }
        worker.postMessage(msg)
      })
    },
    close: async () => {
      if (gone !== undefined) return
      worker.ref()
      await new Promise<void>(resolve => {
        closed = resolve
        const msg: ToWorker = { type: 'close' }
        worker.postMessage(msg)
      })
      await new Promise<void>(resolve => { if (gone !== undefined) resolve(); else worker.once('exit', () => { resolve() }) })
    },
    // Jobs in flight keep the process alive until they are answered.
    idle: idle => { if (idle) worker.unref(); else worker.ref() }
  }, file, migrated, err => err instanceof StoreWorkerGoneError)
}
