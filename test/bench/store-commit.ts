// Benchmark: committing to the SQLite store, three ways side by side in one run, on
// the same machine, the same batch, WAL + synchronous FULL (an fsync per transaction):
//   sync       the pre-port way: a better-sqlite3 transaction per change, on the main
//              thread (openStore + the old sync repositories + the outbox's SQL,
//              SqliteOutboxStatements.add)
//   in-thread  the Store port's SQLite engine, connection on the main thread, commits
//              handed in together grouped into one transaction (group commit)
//   worker     the same, the connection owned by a worker thread
// The batch is what a transfer outcome commits: the call, its APKT record, the agent's
// ACW deadline and the audit entry.
//   burst       `--burst` commits handed in at once (no await between them): each one's
//               latency to resolve (from the burst's start), p50/p99, and commits/s
//   one by one  `--single` commits, each awaited before the next: p99 latency
//   loop delay  perf_hooks.monitorEventLoopDelay (1 ms resolution) during each phase:
//               p99 and max, how long the event loop (HTTP, AMI) was held meanwhile
// Variants alternate in order round by round, each on a fresh file, warmed by a burst
// of 50 first (not counted); figures are medians over `--rounds`. `openMs` is the open
// (for the worker: starting it, loading the TypeScript modules, migrating).
//   tsx test/bench/store-commit.ts [--rounds 5] [--burst 200] [--single 200]
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { apktMigrations } from '../../src/apkt/migrations.ts'
import { buildApktRecord, type ApktRecord } from '../../src/apkt/record.ts'
import type { AcwEntry } from '../../src/acw/types.ts'
import type { Call } from '../../src/calls/types.ts'
import { SqliteAcwRepository } from '../../src/store/acw-repository.ts'
import { SqliteAuditLog } from '../../src/store/audit-repository.ts'
import { SqliteCallRepository } from '../../src/store/calls-repository.ts'
import { migrations } from '../../src/store/migrations.ts'
import type { Change } from '../../src/store/port.ts'
import { openStore } from '../../src/store/sqlite.ts'
import { openSqliteStore } from '../../src/store/sqlite/index.ts'
import { SqliteOutboxStatements } from '../../src/store/sqlite/outbox-statements.ts'
import { numArg } from './lib/args.ts'
import { agentIds } from './lib/ami-stream.ts'
import { figure, machineFigure, median, note, percentile, round, summary } from './lib/report.ts'

const BENCH = 'store-commit'
const rounds = numArg('rounds', 5)
const BURST = numArg('burst', 200)
const SINGLE = numArg('single', 200)
const AGENTS = agentIds(200)
const ALL = [...migrations, ...apktMigrations]

const root = mkdtempSync(path.join(os.tmpdir(), 'pln123-bench-store-commit-'))
let seq = 0
const fresh = (name: string): string => path.join(root, `${name}-${++seq}.db`)

interface Outcome { call: Call, record: ApktRecord, acw: AcwEntry, audit: { actor: string, role: string, action: string, target: string, details: Record<string, unknown> }, at: string }

function outcomes (n: number, tag: string): Outcome[] {
  const at = new Date()
  return Array.from({ length: n }, (_, i) => {
    const callId = `${tag}-${i}.0`
    const agentId = AGENTS[i % AGENTS.length] as string
    const record = buildApktRecord({
      callId, agentId, topic: 'activation',
      apkt: { jenis: 'Informasi', tipeKeluhan: 'ICONNET', subTipeKeluhan: 'Aktivasi layanan', permasalahan: 'Pelanggan menanyakan aktivasi layanan ICONNET, diteruskan ke Contact Center ICONNET' },
      customer: { name: 'Budi Santoso', customerId: '5123456789' }, unit: 'Distribusi Jakarta Raya', unitPelayanan: 'UP3 Tanjung Priok', at
    })
    const call: Call = {
      callId, state: 'transferred', agentId, offeredAt: at.toISOString(), connectedAt: at.toISOString(), source: 'cti', queue: 'pln123',
      customerChannel: `PJSIP/trunk-${callId}`, agentChannel: `PJSIP/${agentId}-${callId}`, callerIdNum: '081234567890', callerIdName: 'BUDI',
      endReason: 'transferred to 3@direct-transfer', transfer: { status: 'completed', target: 3, at: at.toISOString() },
      apkt: { recordId: record.id, permasalahan: record.permasalahan }
    }
    const acw: AcwEntry = { agentId, callId, startedAt: at.toISOString(), endsAt: new Date(at.getTime() + 30_000).toISOString(), state: 'active', seconds: 30, interface: `PJSIP/${agentId}`, pauseReason: 'ACW' }
    return { call, record, acw, audit: { actor: agentId, role: 'agent', action: 'transfer.direct', target: callId, details: { target: 3, topic: 'activation' } }, at: at.toISOString() }
  })
}

const changes = (o: Outcome): Change[] => [
  { kind: 'call', call: o.call },
  { kind: 'apktRecord', record: o.record, outcomeKey: `${o.call.callId}:transfer`, at: o.at },
  { kind: 'acw', entry: o.acw },
  { kind: 'audit', entry: o.audit, at: o.at }
]

interface Committer { commit: (o: Outcome) => Promise<void>, close: () => Promise<void>, openMs: number }

async function open (variant: string): Promise<Committer> {
  const t0 = performance.now()
  if (variant === 'sync') {
    const s = openStore(fresh(variant), ALL)
    const calls = new SqliteCallRepository(s.db)
    const outbox = new SqliteOutboxStatements(s.db)
    const acw = new SqliteAcwRepository(s.db)
    const audit = new SqliteAuditLog(s.db)
    const tx = s.db.transaction((o: Outcome) => {
      calls.save(o.call)
      outbox.add(o.record, `${o.call.callId}:transfer`, new Date(o.at))
      acw.save(o.acw)
      audit.record(o.audit)
    })
    // async only to be awaited like the others: the transaction runs in the caller's call.
    return { commit: async o => { tx(o) }, close: async () => { s.close() }, openMs: performance.now() - t0 }
  }
  const store = await openSqliteStore(fresh(variant), ALL, { mode: variant as 'in-thread' | 'worker' })
  return { commit: async o => { await store.commit(changes(o)) }, close: async () => { await store.close() }, openMs: performance.now() - t0 }
}

interface Phase { p50: number, p99: number, perS: number, loopP99: number, loopMax: number }

const pause = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/**
 * Started (and its timer ticking) before the phase; stopped after the loop ran again,
 * so a loop held through the whole phase shows as one late tick in the histogram.
 */
async function loopMonitor (): Promise<{ stop: () => Promise<{ p99: number, max: number }> }> {
  const h = monitorEventLoopDelay({ resolution: 1 })
  h.enable()
  await pause(10)
  return { stop: async () => { await pause(10); h.disable(); return { p99: h.percentile(99) / 1e6, max: h.max / 1e6 } } }
}

async function burst (c: Committer, batch: Outcome[]): Promise<Phase> {
  const lat: number[] = new Array(batch.length)
  const mon = await loopMonitor()
  const t0 = performance.now()
  await Promise.all(batch.map(async (o, i) => { await c.commit(o); lat[i] = performance.now() - t0 }))
  const ms = performance.now() - t0
  const loop = await mon.stop()
  return { p50: percentile(lat, 50), p99: percentile(lat, 99), perS: batch.length / (ms / 1000), loopP99: loop.p99, loopMax: loop.max }
}

async function oneByOne (c: Committer, batch: Outcome[]): Promise<Phase> {
  const lat: number[] = []
  const mon = await loopMonitor()
  const t0 = performance.now()
  for (const o of batch) {
    const s = performance.now()
    await c.commit(o)
    lat.push(performance.now() - s)
  }
  const ms = performance.now() - t0
  const loop = await mon.stop()
  return { p50: percentile(lat, 50), p99: percentile(lat, 99), perS: batch.length / (ms / 1000), loopP99: loop.p99, loopMax: loop.max }
}

machineFigure(BENCH)
const variants = ['sync', 'in-thread', 'worker']
const results = new Map<string, { burst: Phase[], single: Phase[], openMs: number[] }>(variants.map(v => [v, { burst: [], single: [], openMs: [] }]))

// Warm-up (JIT, the worker's first start and tsx transform), not counted.
for (const v of variants) {
  const c = await open(v)
  await burst(c, outcomes(50, `warm-${v}`))
  await c.close()
}

for (let r = 0; r < rounds; r++) {
  const order = variants.map((_, i) => variants[(i + r) % variants.length] as string)
  const line: string[] = []
  for (const v of order) {
    const res = results.get(v)
    if (res === undefined) continue
    const c = await open(v)
    res.openMs.push(c.openMs)
    // Each store is warmed before it is measured: a worker is a fresh isolate (cold JIT)
    // at every open, while the service opens its store once and keeps it.
    await burst(c, outcomes(50, `w${r}-${v}`))
    const b = await burst(c, outcomes(BURST, `b${r}-${v}`))
    const s = await oneByOne(c, outcomes(SINGLE, `s${r}-${v}`))
    await c.close()
    res.burst.push(b)
    res.single.push(s)
    line.push(`${v}: burst p50 ${b.p50.toFixed(1)} p99 ${b.p99.toFixed(1)} ms ${Math.round(b.perS)}/s loop p99 ${b.loopP99.toFixed(1)} ms; single p99 ${s.p99.toFixed(2)} ms`)
  }
  note(`round ${r + 1}/${rounds}: ${line.join(' | ')}`)
}

const med = (xs: Phase[], k: keyof Phase): number => median(xs.map(x => x[k]))
const table: Record<string, Record<string, number>> = {}
for (const v of variants) {
  const res = results.get(v)
  if (res === undefined) continue
  const row = {
    burstP50Ms: med(res.burst, 'p50'),
    burstP99Ms: med(res.burst, 'p99'),
    burstPerS: med(res.burst, 'perS'),
    burstLoopP99Ms: med(res.burst, 'loopP99'),
    burstLoopMaxMs: med(res.burst, 'loopMax'),
    singleP50Ms: med(res.single, 'p50'),
    singleP99Ms: med(res.single, 'p99'),
    singlePerS: med(res.single, 'perS'),
    singleLoopP99Ms: med(res.single, 'loopP99'),
    openMs: median(res.openMs)
  }
  table[v] = row
  for (const [k, value] of Object.entries(row)) figure({ bench: BENCH, name: `${k}.${v}`, value, unit: k.endsWith('PerS') ? 'commits/s' : 'ms', runs: k === 'openMs' ? res.openMs.map(round) : (k.startsWith('burst') ? res.burst : res.single).map(p => round(p[({ burstP50Ms: 'p50', burstP99Ms: 'p99', burstPerS: 'perS', burstLoopP99Ms: 'loopP99', burstLoopMaxMs: 'loopMax', singleP50Ms: 'p50', singleP99Ms: 'p99', singlePerS: 'perS', singleLoopP99Ms: 'loopP99' } as Record<string, keyof Phase>)[k] ?? 'p50'])) })
}
const sync = table.sync
for (const v of ['in-thread', 'worker']) {
  const row = table[v]
  if (row === undefined || sync === undefined) continue
  figure({ bench: BENCH, name: `ratio.burst_throughput.${v}_over_sync`, value: (row.burstPerS ?? NaN) / (sync.burstPerS ?? NaN), unit: 'ratio' })
  figure({ bench: BENCH, name: `ratio.burst_loop_p99.${v}_over_sync`, value: (row.burstLoopP99Ms ?? NaN) / (sync.burstLoopP99Ms ?? NaN), unit: 'ratio' })
}
const f = (v: string): string => {
  const r = table[v]
  if (r === undefined) return `${v}: n/a`
  return `${v} burst p50 ${round(r.burstP50Ms ?? NaN)} / p99 ${round(r.burstP99Ms ?? NaN)} ms, ${Math.round(r.burstPerS ?? NaN)}/s, loop p99 ${round(r.burstLoopP99Ms ?? NaN)} ms (max ${round(r.burstLoopMaxMs ?? NaN)}); one-by-one p99 ${round(r.singleP99Ms ?? NaN)} ms`
}
summary(BENCH, `${BURST} concurrent commits of call+APKT+ACW+audit, median of ${rounds}: ${variants.map(f).join('; ')}`)
rmSync(root, { recursive: true, force: true })
