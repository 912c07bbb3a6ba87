// Shared by every benchmark: figures as JSON lines, a one-line human summary, the
// statistics (median of repeated runs, percentiles) and the machine they ran on.
import { cpus } from 'node:os'
import { readFileSync } from 'node:fs'

export interface Figure {
  bench: string
  name: string
  value: number
  unit: string
  [extra: string]: unknown
}

/** One figure, one JSON line on stdout. */
export function figure (f: Figure): void {
  process.stdout.write(`${JSON.stringify({ ...f, value: round(f.value) })}\n`)
}

/** The one-line human summary; run.ts collects these lines. */
export function summary (bench: string, text: string): void {
  process.stdout.write(`SUMMARY ${bench}: ${text}\n`)
}

/** Progress for humans, on stderr so stdout stays JSON lines plus the summary. */
export function note (text: string): void {
  process.stderr.write(`  ${text}\n`)
}

export function round (v: number): number {
  if (!Number.isFinite(v)) return v
  const a = Math.abs(v)
  const digits = a >= 1000 ? 0 : a >= 100 ? 1 : a >= 1 ? 2 : 4
  const m = 10 ** digits
  return Math.round(v * m) / m
}

export function median (xs: readonly number[]): number {
  return percentile(xs, 50)
}

/** Nearest-rank percentile (p in 0..100) of unsorted values. */
export function percentile (xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * s.length)
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))] as number
}

export const met = (ok: boolean): string => ok ? 'met' : 'MISSED'

export function machine (): { nproc: number, cpu: string, node: string } {
  let cpu = cpus()[0]?.model ?? 'unknown'
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    if (m?.[1] !== undefined) cpu = m[1].trim()
  } catch {}
  return { nproc: cpus().length, cpu, node: process.version }
}

export function machineFigure (bench: string): void {
  const m = machine()
  process.stdout.write(`${JSON.stringify({ bench, name: 'machine', ...m })}\n`)
}

export const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

/** CPU seconds (user + system) and RSS of another process, from /proc. */
/** CPU (user + system, and each apart: system time is mostly the kernel's socket work) and RSS of a process. */
export function procStat (pid: number): { cpuSeconds: number, userSeconds: number, systemSeconds: number, rssBytes: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const utime = Number(rest[11])
  const stime = Number(rest[12])
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0)
  return { cpuSeconds: (utime + stime) / CLK_TCK, userSeconds: utime / CLK_TCK, systemSeconds: stime / CLK_TCK, rssBytes: rssKb * 1024 }
}

// USER_HZ is 100 on every Linux build that matters here (getconf CLK_TCK).
const CLK_TCK = 100

export const MB = 1024 * 1024
