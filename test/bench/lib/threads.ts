// The service's CPU between two `stats` answers of lib/service-child.ts, split by thread:
// its main thread (HTTP, AMI, the domain), the busiest other thread (on SQLite, the store's
// worker, which owns the connection; on PostgreSQL nothing of ours runs there) and the rest
// (V8's helpers, libuv's pool). Read from /proc, so empty where there is none.
import { readdirSync, readFileSync } from 'node:fs'

export interface ThreadStats { pid: number, threads: Array<{ tid: number, cpuNs: number }> }
export interface ThreadSplit { mainMs: number, busiestOtherMs: number, restMs: number }

/**
 * CPU time of each thread of a process so far (ns, from /proc/<pid>/task/<tid>/schedstat,
 * to the nanosecond where /proc/<pid>/stat counts 10 ms ticks; empty where there is none).
 * The main thread is the one whose tid is the pid. Node names no thread, so a reader tells
 * the store's worker by its CPU (the busiest but main).
 */
export function threadCpu (pid: number | 'self'): ThreadStats['threads'] {
  try {
    return readdirSync(`/proc/${pid}/task`).map(t => {
      try { return { tid: Number(t), cpuNs: Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]) } } catch { return { tid: Number(t), cpuNs: 0 } }
    })
  } catch { return [] }
}

export function threadSplit (before: ThreadStats, after: ThreadStats): ThreadSplit | undefined {
  if (after.threads.length === 0) return undefined
  const was = new Map(before.threads.map(t => [t.tid, t.cpuNs]))
  const used = after.threads.map(t => ({ tid: t.tid, ms: (t.cpuNs - (was.get(t.tid) ?? 0)) / 1e6 }))
  const main = used.find(t => t.tid === after.pid)?.ms ?? 0
  const others = used.filter(t => t.tid !== after.pid).map(t => t.ms).sort((a, b) => b - a)
  const busiest = others[0] ?? 0
  return { mainMs: main, busiestOtherMs: busiest, restMs: others.slice(1).reduce((a, b) => a + b, 0) }
}
