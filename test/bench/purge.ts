// Benchmark: retention's purge beside the transfer button. A store with `--rows` old
// rows (40% closed calls, 30% audit entries, 30% delivered APKT records, all 500 days
// old, against retention.days 400), the real service in its own process on it (as
// transfer-latency.ts: fake AMI that answers at once, local APKT receiver, calls set up
// through the CTI API with inquiry and consent), and agents pressing Direct Transfer at
// random instants, `--agents` presses spread over `--window-ms` per round.
//   warm-up  one round, not counted (JIT, first allocations)
//   without  `--baseline-rounds` rounds before the purge starts, and as many after it ends
//   with     rounds while the purge runs (started over IPC, the service's own pass at
//            start is off: BENCH_RETENTION=manual), until it has deleted every old row
// Each press is put in "with" when the purge was running as the service received it.
// An idle process beside (the canary) shows how much of a tail is the machine's.
// Service-side time from Fastify's start of the request to the 200 handed to the
// socket; target: the purge raises the button's p99 by at most 5 ms.
//   tsx test/bench/purge.ts [--rows 1000000] [--agents 100] [--window-ms 10000] [--baseline-rounds 3]
//   (small first: --rows 20000 --baseline-rounds 1)
//   BENCH_SERVICE_STDOUT=inherit ... shows the service's log (the retention pass line)
import path from 'node:path'
import os from 'node:os'
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import Fastify from 'fastify'
import { Agent } from 'undici'
import { apktMigrations } from '../../src/apkt/migrations.ts'
import { migrations } from '../../src/store/migrations.ts'
import { openSqliteStore } from '../../src/store/sqlite/index.ts'
import { numArg } from './lib/args.ts'
import { agentIds } from './lib/ami-stream.ts'
import { agentToken, benchRawConfig, TOKENS } from './lib/config.ts'
import { FakePbx } from './lib/fake-pbx.ts'
import { startTarget, type Target } from './lib/proc.ts'
import { startCanary } from './lib/canary.ts'
import { callsReadyToTransfer, must, serviceClient } from './lib/button.ts'
import { figure, machineFigure, met, note, percentile, round, sleep, summary, MB } from './lib/report.ts'
import type { Timing } from './lib/service-child.ts'

const BENCH = 'purge'
const here = path.dirname(fileURLToPath(import.meta.url))
const ROWS = numArg('rows', 1_000_000)
const N = numArg('agents', 100)
const WINDOW_MS = numArg('window-ms', 10_000)
const BASELINE_ROUNDS = numArg('baseline-rounds', 3)
const MAX_PURGE_ROUNDS = numArg('max-rounds', 60)
const TARGET_MS = 5
const ACW_SECONDS = 2
const DAY = 86_400_000

/** Old rows straight into the file (synchronous OFF: this is setup, not the service). */
async function seed (file: string): Promise<{ calls: number, audit: number, apkt: number }> {
  // The schema as the service makes it (the store port's engine), then the rows raw.
  await (await openSqliteStore(file, [...migrations, ...apktMigrations])).close()
  const db = new Database(file)
  db.pragma('synchronous = OFF')
  const calls = Math.round(ROWS * 0.4)
  const audit = Math.round(ROWS * 0.3)
  const apkt = ROWS - calls - audit
  const t0 = Date.now() - 500 * DAY
  const at = (i: number): string => new Date(t0 + i * 10).toISOString()
  const insCall = db.prepare('INSERT INTO calls (call_id, state, agent_id, data, updated_at, closed_at) VALUES (?, ?, ?, ?, ?, ?)')
  const insAudit = db.prepare('INSERT INTO audit (at, actor, role, action, target, details) VALUES (?, ?, ?, ?, ?, ?)')
  const insApkt = db.prepare(`INSERT INTO apkt_records (id, outcome_key, agent_id, call_id, status, attempts, next_attempt_at, created_at, delivered_at, body)
    VALUES (?, ?, ?, ?, 'delivered', 1, NULL, ?, ?, ?)`)
  const inChunks = (n: number, fn: (i: number) => void): void => {
    for (let from = 0; from < n; from += 50_000) db.transaction(() => { for (let i = from; i < Math.min(n, from + 50_000); i++) fn(i) })()
  }
  inChunks(calls, i => {
    const id = `old-call-${i}`
    const data = { callId: id, state: 'ended', agentId: '1001', queue: 'pln123', customerChannel: `PJSIP/trunk-${i}`, agentChannel: `Local/1001@agents-0000${i};1`, callerIdNum: '081234567890', callerIdName: 'BUDI SANTOSO', offeredAt: at(i), connectedAt: at(i), endedAt: at(i), endReason: 'caller', inquiry: { topic: 'activation', customer: { name: 'Budi Santoso', salutation: 'Bapak' }, decision: { action: 'transfer', target: 3, policyVersion: '2026-01' }, at: at(i), by: '1001' }, consent: { accepted: true, at: at(i), by: '1001' }, source: 'ami' }
    insCall.run(id, 'ended', '1001', JSON.stringify(data), at(i), at(i))
  })
  inChunks(audit, i => insAudit.run(at(i), 'agent-1001', 'agent', 'transfer', `old-call-${i}`, JSON.stringify({ target: 3, result: 'completed' })))
  inChunks(apkt, i => {
    const body = { id: `old-rec-${i}`, callId: `old-call-${i}`, agentId: '1001', topic: 'activation', jenis: 'KELUHAN', tipeKeluhan: 'INFORMASI', subTipeKeluhan: 'UMUM', permasalahan: 'ICONNET : TRANSFER CALL', namaPelapor: 'Budi Santoso', telepon: '081234567890', unit: 'DISTRIBUSI JAKARTA RAYA', unitPelayanan: 'UP3 TANJUNG PRIOK', waktu: at(i) }
    insApkt.run(`old-rec-${i}`, `old-call-${i}:transfer`, '1001', `old-call-${i}`, at(i), at(i), JSON.stringify(body))
  })
  db.pragma('wal_checkpoint(TRUNCATE)')
  db.close()
  // Written without syncing: flush it now, or the service's first durable commit waits
  // for hundreds of MB of dirty pages (seconds, then 503 OVERLOADED) and that is the setup's cost.
  const fd = openSync(file, 'r+')
  fsyncSync(fd)
  closeSync(fd)
  return { calls, audit, apkt }
}

machineFigure(BENCH)
const dir = mkdtempSync(path.join(os.tmpdir(), 'pln123-bench-purge-'))
const storePath = path.join(dir, 'cti.db')
const s0 = performance.now()
const seeded = await seed(storePath)
note(`seeded ${ROWS} old rows (${seeded.calls} calls, ${seeded.audit} audit entries, ${seeded.apkt} delivered APKT records) in ${Math.round(performance.now() - s0)} ms, file ${Math.round(statSync(storePath).size / MB)} MiB`)

const pbx = await FakePbx.start()
const apkt = Fastify()
apkt.post('/apkt/records', async (_req, reply) => await reply.code(201).send({ ok: true }))
const apktUrl = `${await apkt.listen({ host: '127.0.0.1', port: 0 })}/apkt/records`
const http = new Agent({ connections: N + 16, keepAliveTimeout: 60_000 })
const ids = agentIds(N)

const call = serviceClient(http)

/** One round: N calls answered, classified and consented, then N presses at random instants over the window. */
async function round1 (svc: Target, tag: string): Promise<Timing[]> {
  const callIds = await callsReadyToTransfer(call, svc, ids, 'purge', tag)
  await svc.ask({ cmd: 'timings' }) // drop the setup's
  await Promise.all(callIds.map(async (callId, i) => {
    await sleep(Math.random() * WINDOW_MS)
    await must(`direct-transfer ${callId}`, call(svc, 'POST', `/v1/calls/${callId}/direct-transfer`, agentToken(ids[i] as string), { target: 3 }))
  }))
  const t = (await svc.ask<Timing[]>({ cmd: 'timings' })).filter(x => x.kind === 'transfer' && x.status === 200)
  // Every agent free again (ACW over) before the next round.
  const deadline = Date.now() + 30_000
  for (;;) {
    const r = await call(svc, 'GET', '/v1/agents', TOKENS.supervisor)
    if ((r.body as Array<{ state: string }>).every(a => a.state !== 'acw' && a.state !== 'on_call')) break
    if (Date.now() > deadline) throw new Error('agents still busy after 30 s')
    await sleep(200)
  }
  return t
}

interface PurgeStatus { busy: boolean, startedAt?: number, endedAt?: number, report?: { counts: Record<string, number>, batches: number, maxBatchMs: number, ms: number, complete: boolean }, error?: string }

const raw = benchRawConfig({ amiPort: pbx.port, agents: N, acwSeconds: ACW_SECONDS, apktUrl, storePath, logLevel: 'info' })
raw.apkt.dispatcher = { pollMs: 200 }
const svc = await startTarget(path.join(here, 'lib', 'service-child.ts'), [], { ipc: true, stdout: process.env.BENCH_SERVICE_STDOUT === 'inherit' ? 'inherit' : 'ignore', env: { BENCH_CONFIG: JSON.stringify(raw), BENCH_RETENTION: 'manual' } })
const canary = await startCanary()
const noise: { without: number[], with: number[] } = { without: [], with: [] }
try {
  await round1(svc, 'warmup')
  const all: Timing[] = []
  const p99Of = (t: Timing[]): string => percentile(t.map(x => (x.end ?? NaN) - x.start), 99).toFixed(2)
  const baseline = async (label: string): Promise<void> => {
    for (let r = 0; r < BASELINE_ROUNDS; r++) {
      await canary.read()
      const t = await round1(svc, `${label}${r}`)
      noise.without.push((await canary.read()).p99Ms)
      all.push(...t)
      note(`without purge (${label}), round ${r + 1}/${BASELINE_ROUNDS}: p99 ${p99Of(t)} ms`)
    }
  }
  await baseline('before')
  await svc.ask({ cmd: 'purge' })
  let status: PurgeStatus = { busy: true }
  for (let r = 0; r < MAX_PURGE_ROUNDS; r++) {
    await canary.read()
    const t = await round1(svc, `purge${r}`)
    noise.with.push((await canary.read()).p99Ms)
    all.push(...t)
    status = await svc.ask<PurgeStatus>({ cmd: 'purge-status' })
    note(`purge running, round ${r + 1}: p99 ${p99Of(t)} ms${status.busy ? '' : ` (purge done: ${JSON.stringify(status.report?.counts)})`}`)
    if (!status.busy) break
  }
  if (status.busy || status.report === undefined) throw new Error(`the purge did not finish within ${MAX_PURGE_ROUNDS} rounds: ${JSON.stringify(status)}`)
  await baseline('after')
  const { startedAt = NaN, endedAt = NaN, report } = status
  const deleted = Object.values(report.counts).reduce((a, b) => a + b, 0)
  if (deleted !== ROWS) throw new Error(`the purge deleted ${deleted} rows, ${ROWS} expected`)
  const during = (x: Timing): boolean => x.start >= startedAt && x.start <= endedAt
  const lat = (xs: Timing[]): number[] => xs.map(x => (x.end ?? NaN) - x.start)
  const without = lat(all.filter(x => !during(x)))
  const withPurge = lat(all.filter(during))
  const p99Without = percentile(without, 99)
  const p99With = percentile(withPurge, 99)
  const diff = p99With - p99Without
  figure({ bench: BENCH, name: 'button.without_purge.p50', value: percentile(without, 50), unit: 'ms', presses: without.length })
  figure({ bench: BENCH, name: 'button.without_purge.p99', value: p99Without, unit: 'ms', presses: without.length })
  figure({ bench: BENCH, name: 'button.with_purge.p50', value: percentile(withPurge, 50), unit: 'ms', presses: withPurge.length })
  figure({ bench: BENCH, name: 'button.with_purge.p99', value: p99With, unit: 'ms', presses: withPurge.length })
  figure({ bench: BENCH, name: 'purge.rows_deleted', value: deleted, unit: 'rows', ...report.counts })
  figure({ bench: BENCH, name: 'purge.duration', value: report.ms / 1000, unit: 's', batches: report.batches, rowsPerSecond: Math.round(deleted / (report.ms / 1000)) })
  figure({ bench: BENCH, name: 'purge.longest_batch', value: report.maxBatchMs, unit: 'ms', batchSize: raw.retention?.batchSize ?? 500 })
  figure({ bench: BENCH, name: 'target.p99_increase', value: diff, unit: 'ms', target: TARGET_MS, met: diff <= TARGET_MS })
  const idle = { without: percentile(noise.without, 50), with: percentile(noise.with, 50) }
  figure({ bench: BENCH, name: 'machine_noise.idle_process_p99', value: idle.without, unit: 'ms', duringPurge: round(idle.with) })
  summary(BENCH, `${ROWS} old rows purged in ${(report.ms / 1000).toFixed(1)} s (${report.batches} batches, longest ${report.maxBatchMs.toFixed(1)} ms) beside ${N} agents pressing Direct Transfer over ${WINDOW_MS / 1000} s rounds: ` +
    `button p99 without the purge ${p99Without.toFixed(2)} ms (${without.length} presses), with it ${p99With.toFixed(2)} ms (${withPurge.length} presses), ` +
    `${diff >= 0 ? '+' : ''}${diff.toFixed(2)} ms against a target of <= +${TARGET_MS} ms: ${met(diff <= TARGET_MS)}. p50 ${round(percentile(without, 50))} / ${round(percentile(withPurge, 50))} ms. ` +
    `(An idle process beside sees ${idle.without.toFixed(1)} / ${idle.with.toFixed(1)} ms p99 event-loop delay by itself: the machine's noise.)`)
} finally {
  canary.stop()
  await svc.stop()
  await http.close()
  await apkt.close()
  await pbx.stop()
  rmSync(dir, { recursive: true, force: true })
}
