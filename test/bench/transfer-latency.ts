// Benchmark 3, transfer button latency, on each store engine side by side in one run
// (embedded SQLite and PostgreSQL on loopback, lib/engines.ts): 200 agents on calls in
// the real service (own process, its real store, log level info), a fake AMI that
// answers at once (BlindTransfer: Response + BlindTransfer event; QueuePause: Response +
// QueueMemberPause, since ACW pauses the agent before the transfer) and a local APKT
// receiver (every transfer writes an APKT record that the dispatcher then posts).
// Calls come in as CTI events (POST /v1/cti/events, call.answered with
// data.agentChannel); each gets an inquiry (activation: transfer) and consent.
// Then 200 presses of Direct Transfer 3 (one per agent), in four patterns:
//   serial  one press at a time, each after the previous one's 200 (the service time)
//   steady  at random instants over 20 s: 10 presses/s (a 200-agent floor where every
//           agent transfers a call every 20 s; a real floor presses about 1/s)
//   spread  at random instants over 2 s: 100 presses/s
//   burst   all 200 at the same instant (the worst case)
// and, as the baseline in the same process, a burst of 200 GET /v1/calls/:id (the
// cheapest authenticated route: same HTTP, auth, rate limit and logging, no work).
// Service-side latency (from Fastify's start of the request, i.e. once the service
// reads it) to BlindTransfer written and to the 200 handed to the socket: p50/p99 over
// all rounds, per engine; the client's round trip too. Targets (issue 13): serial p99
// <= 5 ms on SQLite, <= 10 ms on PostgreSQL; burst p99 <= 50 ms on both.
// The service's CPU per press, and split by thread (lib/threads.ts: the main thread, the
// busiest other one, which on SQLite is the store's worker, and the rest); for the burst,
// the main thread's CPU for all its presses, which no store can bring the burst's last 200
// under.
// Every figure carries `engine` (and its name starts with it): one service per engine,
// all its rounds, then the next engine's, against the same fake PBX and APKT receiver.
// No synchronous-NORMAL what-if any more: the service's SQLite connection lives in the
// store's worker thread and the config has no pragma key, so a "what if" would measure
// a different build, not the service; PostgreSQL's counterpart (synchronous_commit off)
// is not something the service ever runs with either.
// Each engine's service first runs --warmup rounds of the same patterns, not counted.
//   tsx test/bench/transfer-latency.ts [--engines sqlite,postgres] [--rounds 3] [--warmup 1] [--agents 200] [--patterns serial,burst]
//   BENCH_CPU_PROF=<dir> ... writes the service's V8 CPU profile there
//   BENCH_NODE_ARGS='--cpu-prof-interval 100' ... extra node options for the service; not
//   V8 flags such as --trace-gc or --max-semi-space-size on SQLite: the store's worker thread
//   inherits execArgv and a Worker refuses them (ERR_WORKER_INVALID_EXEC_ARGV)
import path from 'node:path'
import os from 'node:os'
import { mkdtempSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import { Agent } from 'undici'
import { agentIds } from './lib/ami-stream.ts'
import { agentToken, benchRawConfig, TOKENS } from './lib/config.ts'
import { FakePbx } from './lib/fake-pbx.ts'
import { startTarget, type Target } from './lib/proc.ts'
import { startCanary } from './lib/canary.ts'
import { callsReadyToTransfer, serviceClient } from './lib/button.ts'
import { figure, machineFigure, median, met, note, percentile, round, sleep, summary } from './lib/report.ts'
import { listArg, numArg } from './lib/args.ts'
import { enginesArg, Engines, type Engine } from './lib/engines.ts'
import type { Timing } from './lib/service-child.ts'
import { threadSplit, type ThreadSplit, type ThreadStats } from './lib/threads.ts'

const BENCH = 'transfer-latency'
const here = path.dirname(fileURLToPath(import.meta.url))
const rounds = numArg('rounds', 3)
const WARMUP = numArg('warmup', 1)
const N = numArg('agents', 200)
const engines = enginesArg()
const only = listArg('patterns')
// ACW of 3 s: long enough that no ACW ends inside a spread window, short enough to wait for.
const ACW_SECONDS = 3
const PATTERNS = { serial: -1, steady: 20_000, spread: 2000, burst: 0 } as const
/** p99 targets of issue 13, ms: one press at a time, and 200 at once. */
const TARGET: Record<Engine, { serial: number, burst: number }> = { sqlite: { serial: 5, burst: 50 }, postgres: { serial: 10, burst: 50 } }
type Pattern = keyof typeof PATTERNS

interface Result { timings: Record<Pattern | 'read', Timing[]>, client: Record<Pattern | 'read', number[]>, perRound: Array<Record<string, number>>, stalls: Record<Pattern, Array<{ serviceMaxMs: number, canaryMaxMs: number, canaryP99Ms: number }>>, cpuMsPerPress: Record<Pattern, number[]>, threads: Record<Pattern, ThreadSplit[]> }

machineFigure(BENCH)
const pbx = await FakePbx.start()
let apktReceived = 0
const apkt = Fastify()
apkt.post('/apkt/records', async (_req, reply) => { apktReceived++; return await reply.code(201).send({ ok: true }) })
const apktUrl = `${await apkt.listen({ host: '127.0.0.1', port: 0 })}/apkt/records`
const http = new Agent({ connections: N + 16, keepAliveTimeout: 60_000 })
const ids = agentIds(N)
// An idle process watching its own event loop: stalls it sees too come from the machine.
const canary = await startCanary()

const call = serviceClient(http)

/** N calls, one per agent, each classified (activation: transfer) with consent. */
async function setupCalls (svc: Target, tag: string): Promise<string[]> {
  return await callsReadyToTransfer(call, svc, ids, 'bench', tag)
}

async function press (svc: Target, callIds: string[], pattern: Pattern): Promise<number[]> {
  if (pattern === 'serial') {
    const out: number[] = []
    for (const [i, callId] of callIds.entries()) {
      const r = await call(svc, 'POST', `/v1/calls/${callId}/direct-transfer`, agentToken(ids[i] as string), { target: 3 })
      if (r.status !== 200) throw new Error(`direct-transfer ${callId}: HTTP ${r.status} ${JSON.stringify(r.body)}`)
      out.push(r.ms)
    }
    return out
  }
  return await Promise.all(callIds.map(async (callId, i) => {
    if (PATTERNS[pattern] > 0) await sleep(Math.random() * PATTERNS[pattern])
    const r = await call(svc, 'POST', `/v1/calls/${callId}/direct-transfer`, agentToken(ids[i] as string), { target: 3 })
    if (r.status !== 200) throw new Error(`direct-transfer ${callId}: HTTP ${r.status} ${JSON.stringify(r.body)}`)
    return r.ms
  }))
}

/** Waits until no agent is in ACW or on a call any more, so each pattern starts alike. */
async function allReady (svc: Target): Promise<void> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const r = await call(svc, 'GET', '/v1/agents', TOKENS.supervisor)
    const busy = (r.body as Array<{ state: string }>).filter(a => a.state === 'acw' || a.state === 'on_call').length
    if (busy === 0) return
    if (Date.now() > deadline) throw new Error(`${busy} agents still in ACW or on a call`)
    await sleep(200)
  }
}

const stores = new Engines()

const emptyResult = (): Result => ({ timings: { serial: [], steady: [], spread: [], burst: [], read: [] }, client: { serial: [], steady: [], spread: [], burst: [], read: [] }, perRound: [], stalls: { serial: [], steady: [], spread: [], burst: [] }, cpuMsPerPress: { serial: [], steady: [], spread: [], burst: [] }, threads: { serial: [], steady: [], spread: [], burst: [] } })

async function runService (engine: Engine, patterns: Pattern[], nRounds: number): Promise<Result> {
  const label = engine
  const db = await stores.database(engine)
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pln123-bench-transfer-'))
  const raw = benchRawConfig({ amiPort: pbx.port, agents: N, acwSeconds: ACW_SECONDS, apktUrl, storePath: path.join(dir, 'cti.db'), logLevel: 'info' })
  raw.apkt.dispatcher = { pollMs: 200 }
  const prof = process.env.BENCH_CPU_PROF !== undefined ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : []
  // BENCH_NODE_ARGS: extra node options for the service (see the header: no V8-only flags on SQLite).
  const extra = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(a => a !== '')
  const svc = await startTarget(path.join(here, 'lib', 'service-child.ts'), [], { ipc: true, nodeArgs: [...prof, ...extra], stdout: process.env.BENCH_SERVICE_STDOUT === 'inherit' ? 'inherit' : 'ignore', env: { ...db.env, BENCH_CONFIG: JSON.stringify(raw) } })
  const res = emptyResult()
  try {
    // Rounds below 0 warm the service up (V8 optimizes the press path as it runs: measured
    // cold, a first round's main thread spent a third more CPU a press one at a time and
    // nearly twice as much in a burst) and are not counted.
    for (let r = -WARMUP; r < nRounds; r++) {
      const into = r < 0 ? emptyResult() : res
      const row: Record<string, number> = {}
      const order = patterns.map((_, i) => patterns[(((i + r) % patterns.length) + patterns.length) % patterns.length] as Pattern)
      for (const pattern of order) {
        const callIds = await setupCalls(svc, `${label}r${r}${pattern}`)
        await svc.ask({ cmd: 'timings' }) // drop the setup's
        if (pattern === 'burst') {
          // The baseline first, on the same calls: a burst of reads.
          into.client.read.push(...await Promise.all(callIds.map(async (callId, i) => (await call(svc, 'GET', `/v1/calls/${callId}`, agentToken(ids[i] as string))).ms)))
          const t = await svc.ask<Timing[]>({ cmd: 'timings' })
          into.timings.read.push(...t)
          row.read_p99 = percentile(t.map(x => (x.end ?? NaN) - x.start), 99)
        }
        const before = pbx.count('BlindTransfer')
        const at0 = await svc.ask<{ cpuSeconds: number } & ThreadStats>({ cmd: 'stats' }) // also resets its event-loop delay histogram
        const cpu0 = at0.cpuSeconds
        await canary.read()
        into.client[pattern].push(...await press(svc, callIds, pattern))
        const after = await svc.ask<{ eventLoopDelay: { maxMs: number }, cpuSeconds: number } & ThreadStats>({ cmd: 'stats' })
        const loop = after.eventLoopDelay
        // The service's CPU while pressing (and whatever the presses set off: APKT delivery).
        into.cpuMsPerPress[pattern].push((after.cpuSeconds - cpu0) * 1000 / N)
        const split = threadSplit(at0, after)
        if (split !== undefined) {
          into.threads[pattern].push(split)
          row[`${pattern}_main_cpu_per_press`] = split.mainMs / N
        }
        const machine = await canary.read()
        into.stalls[pattern].push({ serviceMaxMs: round(loop.maxMs), canaryMaxMs: round(machine.maxMs), canaryP99Ms: round(machine.p99Ms) })
        row[`${pattern}_loopmax`] = loop.maxMs
        row[`${pattern}_canarymax`] = machine.maxMs
        const t = await svc.ask<Timing[]>({ cmd: 'timings' })
        const sent = pbx.count('BlindTransfer') - before
        const timed = t.filter(x => x.kind === 'transfer' && x.status === 200 && x.blindTransferAt !== undefined)
        if (sent !== N || timed.length !== N) throw new Error(`${label} ${pattern}: ${sent} BlindTransfer actions and ${timed.length} timed presses for ${N} calls`)
        into.timings[pattern].push(...timed)
        row[`${pattern}_p99`] = percentile(timed.map(x => (x.end ?? NaN) - x.start), 99)
        await allReady(svc)
      }
      into.perRound.push(row)
      note(`${label} ${r < 0 ? `warm-up ${r + WARMUP + 1}/${WARMUP}` : `round ${r + 1}/${nRounds}`}: ${Object.entries(row).map(([k, v]) => `${k} ${v.toFixed(2)} ms`).join(', ')}`)
    }
  } finally {
    await svc.stop()
    rmSync(dir, { recursive: true, force: true })
    await db.drop()
  }
  return res
}

const lat = (t: Timing[], to: 'bt' | 'end'): number[] => t.map(x => (to === 'bt' ? (x.blindTransferAt ?? NaN) : (x.end ?? NaN)) - x.start)
const p = (t: Timing[], to: 'bt' | 'end', q: number): number => percentile(lat(t, to), q)

try {
  const patterns = (['serial', 'steady', 'spread', 'burst'] as Pattern[]).filter(x => only === undefined || only.has(x))
  const perEngine = (WARMUP + rounds) * patterns.length * N // the warm-up's records are delivered too
  const expected = perEngine * engines.length
  const texts: string[] = []
  const verdict: string[] = []
  const noises: number[] = []
  for (const engine of engines) {
    const main = await runService(engine, patterns, rounds)
    const e = { engine }
    for (const pattern of patterns) {
      const t = main.timings[pattern]
      for (const [to, label] of [['bt', 'to_blindtransfer'], ['end', 'to_200']] as const) {
        figure({ bench: BENCH, ...e, name: `${engine}.${pattern}.${label}.p50`, value: p(t, to, 50), unit: 'ms', presses: t.length })
        figure({ bench: BENCH, ...e, name: `${engine}.${pattern}.${label}.p99`, value: p(t, to, 99), unit: 'ms', presses: t.length, ...(to === 'end' ? { perRoundP99: main.perRound.map(x => round(x[`${pattern}_p99`] ?? NaN)) } : {}) })
      }
      // Where the time goes (medians): before the action, the PBX's answer, after it.
      figure({ bench: BENCH, ...e, name: `${engine}.${pattern}.cpu_per_press`, value: median(main.cpuMsPerPress[pattern]), unit: 'ms' })
      const split = main.threads[pattern]
      if (split.length > 0) {
        // By thread (medians over rounds, per press): what the main thread alone does for a
        // press bounds how fast a burst can clear, whatever the store does beside it.
        figure({ bench: BENCH, ...e, name: `${engine}.${pattern}.main_thread_cpu_per_press`, value: median(split.map(x => x.mainMs)) / N, unit: 'ms', busiestOtherThreadMs: round(median(split.map(x => x.busiestOtherMs)) / N), restOfThreadsMs: round(median(split.map(x => x.restMs)) / N) })
        if (pattern === 'burst') figure({ bench: BENCH, ...e, name: `${engine}.burst.main_thread_cpu_whole_burst`, value: median(split.map(x => x.mainMs)), unit: 'ms', note: `the main thread's CPU for all ${N} presses and what they set off: a floor under the burst's last 200` })
      }
      figure({ bench: BENCH, ...e, name: `${engine}.${pattern}.phases_p50`, value: p(t, 'end', 50), unit: 'ms', toBlindTransfer: round(p(t, 'bt', 50)), pbxRoundTrip: round(median(t.map(x => (x.confirmedAt ?? NaN) - (x.blindTransferAt ?? NaN)))), eventTo200: round(median(t.map(x => (x.end ?? NaN) - (x.confirmedAt ?? NaN)))) })
      // The slowest presses by phase: where a tail comes from (before the action, the PBX, after it).
      const slowest = [...t].sort((a, b) => ((b.end ?? 0) - b.start) - ((a.end ?? 0) - a.start)).slice(0, 3)
        .map(x => ({ total: round((x.end ?? NaN) - x.start), toBlindTransfer: round((x.blindTransferAt ?? NaN) - x.start), pbxRoundTrip: round((x.confirmedAt ?? NaN) - (x.blindTransferAt ?? NaN)), eventTo200: round((x.end ?? NaN) - (x.confirmedAt ?? NaN)) }))
      figure({ bench: BENCH, ...e, name: `${engine}.${pattern}.slowest_presses`, value: slowest[0]?.total ?? NaN, unit: 'ms', slowest })
      figure({ bench: BENCH, ...e, name: `${engine}.${pattern}.client_roundtrip.p99`, value: percentile(main.client[pattern], 99), unit: 'ms', p50: round(percentile(main.client[pattern], 50)) })
      // The longest event-loop stall in the service while pressing, and in an idle process beside it.
      figure({ bench: BENCH, ...e, name: `${engine}.${pattern}.event_loop_max`, value: median(main.stalls[pattern].map(x => x.serviceMaxMs)), unit: 'ms', perRound: main.stalls[pattern] })
    }
    const read = main.timings.read
    const fmt = (pattern: Pattern): string => `${pattern} p50 ${p(main.timings[pattern], 'bt', 50).toFixed(2)}/${p(main.timings[pattern], 'end', 50).toFixed(2)} ms, p99 ${p(main.timings[pattern], 'bt', 99).toFixed(2)}/${p(main.timings[pattern], 'end', 99).toFixed(2)} ms`
    const parts = patterns.map(fmt)
    if (read.length > 0) {
      figure({ bench: BENCH, ...e, name: `${engine}.baseline_read_burst.to_200.p50`, value: p(read, 'end', 50), unit: 'ms', requests: read.length })
      figure({ bench: BENCH, ...e, name: `${engine}.baseline_read_burst.to_200.p99`, value: p(read, 'end', 99), unit: 'ms', client_p99: round(percentile(main.client.read, 99)) })
      figure({ bench: BENCH, ...e, name: `${engine}.ratio.burst_over_read_burst.p99`, value: p(main.timings.burst, 'end', 99) / p(read, 'end', 99), unit: 'ratio' })
      parts.push(`baseline burst of ${N} reads p99 ${p(read, 'end', 99).toFixed(2)} ms`)
    }
    for (const pattern of ['serial', 'burst'] as const) {
      if (!patterns.includes(pattern)) continue
      const v = p(main.timings[pattern], 'end', 99)
      const target = TARGET[engine][pattern]
      figure({ bench: BENCH, ...e, name: `${engine}.target.${pattern}_p99`, value: v, unit: 'ms', target, met: v <= target })
      verdict.push(`${engine} ${pattern} p99 <= ${target} ms ${met(v <= target)}`)
    }
    noises.push(...patterns.flatMap(x => main.stalls[x].map(y => y.canaryP99Ms)))
    texts.push(`[${engine}] ${parts.join('; ')}`)
  }
  const deadline = Date.now() + 20_000
  while (apktReceived < expected && Date.now() < deadline) await sleep(100)
  const delivered = apktReceived
  figure({ bench: BENCH, name: 'apkt_records_delivered', value: delivered, unit: 'records', expected })
  // The machine's own noise: an idle process's event-loop delay p99 while the presses ran.
  const noise = median(noises)
  figure({ bench: BENCH, name: 'machine_noise.idle_process_p99', value: noise, unit: 'ms' })
  summary(BENCH, `${N} agents, ${rounds} rounds per engine, service-side press -> BlindTransfer written / -> 200 answered: ` +
    `${texts.join('. ')}. Targets: ${verdict.join(', ')} (an idle process on this machine sees ${noise.toFixed(1)} ms p99 event-loop delay by itself). APKT records delivered ${delivered}/${expected}.`)
} finally {
  canary.stop()
  await http.close()
  await apkt.close()
  await pbx.stop()
  await stores.close()
}
