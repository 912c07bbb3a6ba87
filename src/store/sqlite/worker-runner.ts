// The connection in a worker thread (worker.ts): front.ts sends each run of queued
// jobs over; jobs handed in meanwhile wait here and form the next run (group commit).
import { setTimeout as delay } from 'node:timers/promises'
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

interface Thread {
  worker: Worker
  /** Why this worker can take no more runs (it exited or failed). */
  gone?: Error
}

/** For tests only: the worker thread a store currently runs on (to end it as a crash would). */
export const kCurrentWorker = Symbol('pln123.sqliteWorker')

/** Pace of the restarts of a worker that died (the first at once: a stray bug, not a loop). */
const RESTART = { initialMs: 0, nextMs: 200, maxMs: 5000 }

/** Starts a worker on `file` and waits until it has opened (and migrated) it. */
async function startWorker (data: WorkerData): Promise<{ worker: Worker, migrated: number[] }> {
  const worker = new Worker(new URL('./worker-boot.mjs', import.meta.url), { workerData: data, execArgv: workerFlags(process.execArgv) })
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
    const onExit = (code: number): void => { reject(new StoreWorkerGoneError(`the sqlite worker exited (${code}) while opening ${data.file}`)) }
    worker.on('message', onMessage)
    worker.once('error', onError)
    worker.once('exit', onExit)
  })
  return { worker, migrated }
}

/**
 * A worker that dies (a bug in it, its heap exhausted, terminated) is replaced: the
 * run it had in hand fails as "unavailable" (the journal keeps that batch and tries it
 * again, as in any store outage), and a new worker opens the same file, at once and
 * then with a back-off while opening fails. Without this one dead thread left the
 * service in a store outage until a restart. The database itself is safe across the
 * death: a transaction the worker had not committed is rolled back by SQLite.
 */
export async function openInWorker (file: string, migrations: Migration[], pragmas: string[] = []): Promise<Store> {
  const data: WorkerData = { file, migrations, pragmas }
  const first = await startWorker(data)
  let thread: Thread = { worker: first.worker }
  let waiting: { id: number, resolve: (o: Outcome[]) => void, reject: (e: Error) => void } | undefined
  let closed: (() => void) | undefined
  let closing = false
  let restarting: Promise<void> | undefined
  let restartDelay = RESTART.initialMs
  let nextId = 0
  let idleNow = true

  const fail = (t: Thread, err: Error): void => {
    t.gone ??= err
    if (t !== thread) return
    const w = waiting
    waiting = undefined
    w?.reject(t.gone)
  }

  const restart = (): void => {
    if (closing || restarting !== undefined) return
    restarting = (async () => {
      for (;;) {
        await delay(restartDelay)
        restartDelay = Math.min(Math.max(restartDelay * 2, RESTART.nextMs), RESTART.maxMs)
        if (closing) return
        try {
          const next = await startWorker(data)
          if (closing) { await next.worker.terminate(); return }
          thread = { worker: next.worker }
          attach(thread)
          if (idleNow) next.worker.unref()
          restartDelay = RESTART.initialMs
          return
        } catch {
          // the file cannot be opened now (disk, permissions): keep trying at the back-off's pace
        }
      }
    })().finally(() => { restarting = undefined })
  }

  const attach = (t: Thread): void => {
    t.worker.on('message', (m: FromWorker) => {
      if (m.type === 'done' && waiting?.id === m.id && t === thread) {
        const w = waiting
        waiting = undefined
        w.resolve(m.outcomes.map(o => o.ok ? o : { ok: false, error: errorFromData(o.error) }))
      } else if (m.type === 'closed') closed?.()
    })
    t.worker.on('error', err => { fail(t, err) })
    t.worker.on('exit', code => {
      fail(t, new StoreWorkerGoneError(`the sqlite worker for ${file} exited (${code})`))
      if (closing) closed?.()
      else if (t === thread) restart()
    })
  }
  attach(thread)
  thread.worker.unref() // idle: an open store alone does not keep the process alive

  const store = storeFront({
    run: async jobs => {
      const t = thread
      if (t.gone !== undefined) throw t.gone
      return await new Promise<Outcome[]>((resolve, reject) => {
        waiting = { id: ++nextId, resolve, reject }
        const msg: ToWorker = { type: 'run', id: nextId, jobs }
        t.worker.postMessage(msg)
      })
    },
    close: async () => {
      closing = true
      const t = thread
      if (t.gone !== undefined) return
      t.worker.ref()
      await new Promise<void>(resolve => {
        closed = resolve
        const msg: ToWorker = { type: 'close' }
        t.worker.postMessage(msg)
      })
      await new Promise<void>(resolve => { if (t.gone !== undefined) resolve(); else t.worker.once('exit', () => { resolve() }) })
    },
    // Jobs in flight keep the process alive until they are answered.
    idle: idle => { idleNow = idle; if (idle) thread.worker.unref(); else thread.worker.ref() }
  }, file, first.migrated, err => err instanceof StoreWorkerGoneError)
  Object.defineProperty(store, kCurrentWorker, { value: () => thread.worker, enumerable: false })
  return store
}
