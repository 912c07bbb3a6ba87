// The real service (createService, its real store, real AMI adapter) in its own process,
// with measuring points for benchmarks. Config comes as JSON in BENCH_CONFIG or in the
// file BENCH_CONFIG_FILE (a raw config, validated by the real parser); the store engine
// comes as in production, CTI_STORE_KIND and (PostgreSQL) CTI_STORE_URL in the
// environment (lib/engines.ts). Talks over IPC:
//   { cmd: 'timings' }  -> per request on /v1/calls/:callId (GET, the baseline) and
//                          /v1/calls/:callId/direct-transfer: start, BlindTransfer
//                          written, its event back, response finished (ms, this process's performance.now())
//   { cmd: 'stats' }    -> memory and CPU of this process (and of each of its threads,
//                          Linux), event-loop delay since the last stats, live calls,
//                          outbox counts
//   { cmd: 'gc' }       -> a full GC, then stats
//   { cmd: 'purge' }    -> starts a retention pass now (with BENCH_RETENTION=manual the
//                          service's own pass at start and hourly is off)
//   { cmd: 'purge-status' } -> { busy, startedAt, endedAt (this process's performance.now()), report }
// Prints "LISTENING <url>" on stderr once listening and logged in to AMI.
import { readFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import v8 from 'node:v8'
import vm from 'node:vm'
import pino from 'pino'
import { parseConfig } from '../../../src/config/load.ts'
import { createService } from '../../../src/service.ts'
import { redactPaths } from '../../../src/log.ts'
import { storeEnv } from './engines.ts'
import { threadCpu } from './threads.ts'

/** One timed request, as the benchmark reads it over IPC (ms, the service's performance.now()). */
export interface Timing { kind: 'transfer' | 'read', callId: string, start: number, blindTransferAt?: number, confirmedAt?: number, end?: number, status?: number }

// A large config (1,000 agents and their tokens) does not fit in one environment variable.
const configText = process.env.BENCH_CONFIG_FILE !== undefined ? readFileSync(process.env.BENCH_CONFIG_FILE, 'utf8') : process.env.BENCH_CONFIG ?? '{}'
const config = parseConfig(JSON.parse(configText) as Record<string, unknown>, storeEnv())
const logger = pino({ level: config.log.level, redact: { paths: redactPaths, censor: '[redacted]' } })
const svc = await createService(config, logger)
// BENCH_SYNCHRONOUS (the old what-if) is gone: the store port does not hand out its
// connection, so the setting cannot be changed from here; refuse rather than report
// FULL's numbers as NORMAL's.
if (process.env.BENCH_SYNCHRONOUS !== undefined) {
  process.stderr.write(`BENCH_SYNCHRONOUS=${process.env.BENCH_SYNCHRONOUS} is not available: the SQLite engine's connection is internal to the store port (an engine option would be needed)\n`)
  process.exit(2)
}

// test/bench/purge.ts: the benchmark decides when the purge runs, to measure without and with it.
if (process.env.BENCH_RETENTION === 'manual') svc.retention.start = () => {}
const purge: { startedAt?: number, endedAt?: number, report?: unknown, error?: string } = {}

const timings = new Map<string, Timing>()
const channelToCall = new Map<string, string>()
const action = svc.ami.action.bind(svc.ami)
svc.ami.action = async (name, fields = {}, opts = {}) => {
  if (name === 'BlindTransfer') {
    const key = channelToCall.get(String(fields.Channel))
    const t = key !== undefined ? timings.get(key) : undefined
    if (t !== undefined) t.blindTransferAt = performance.now() // the action is written to the socket in this call
  }
  return await action(name, fields, opts)
}
// Asterisk's BlindTransfer event reached the call model (before the transfer's own listener).
svc.tracker.on('transfer', callId => {
  const t = timings.get(`transfer ${callId}`)
  if (t !== undefined) t.confirmedAt = performance.now()
})
const CALL_URL = /^\/v1\/calls\/([^/?]+)(\/direct-transfer)?$/
const keyOf = (method: string, url: string): { key: string, kind: Timing['kind'], callId: string } | undefined => {
  const m = CALL_URL.exec(url)
  if (m?.[1] === undefined) return undefined
  const kind = m[2] !== undefined && method === 'POST' ? 'transfer' : method === 'GET' && m[2] === undefined ? 'read' : undefined
  return kind === undefined ? undefined : { key: `${kind} ${m[1]}`, kind, callId: decodeURIComponent(m[1]) }
}
svc.app.addHook('onRequest', async (req, reply) => {
  const k = keyOf(req.method, req.url)
  if (k === undefined) return
  // Fastify starts the reply's clock before the first onRequest hook runs.
  timings.set(k.key, { kind: k.kind, callId: k.callId, start: performance.now() - reply.elapsedTime })
  if (k.kind !== 'transfer') return
  const call = svc.tracker.get(k.callId)
  if (call?.agentChannel !== undefined) channelToCall.set(call.agentChannel, k.key)
})
svc.app.addHook('onResponse', async (req, reply) => {
  const k = keyOf(req.method, req.url)
  const t = k !== undefined ? timings.get(k.key) : undefined
  if (t === undefined) return
  t.end = t.start + reply.elapsedTime // elapsedTime stops when the response was handed to the socket
  t.status = reply.statusCode
})

// gc() without `node --expose-gc`: the SQLite store's worker thread inherits the
// process's execArgv, and a Worker refuses V8 flags there (ERR_WORKER_INVALID_EXEC_ARGV).
v8.setFlagsFromString('--expose-gc')
const fullGc = vm.runInNewContext('gc') as () => void

const eld = monitorEventLoopDelay({ resolution: Number(process.env.BENCH_ELD_RESOLUTION ?? 10) })
eld.enable()
const stats = async (): Promise<Record<string, unknown>> => {
  const m = process.memoryUsage()
  const loop = { p50Ms: eld.percentile(50) / 1e6, p99Ms: eld.percentile(99) / 1e6, maxMs: eld.max / 1e6 }
  eld.reset()
  const c = process.cpuUsage()
  return {
    rssBytes: m.rss,
    heapUsedBytes: m.heapUsed,
    externalBytes: m.external,
    cpuSeconds: (c.user + c.system) / 1e6,
    pid: process.pid,
    threads: threadCpu('self'),
    eventLoopDelay: loop,
    liveCalls: svc.tracker.liveCalls().length,
    outbox: await svc.outbox.stats()
  }
}

process.on('message', (msg: { id: number, cmd: string }) => { void answer(msg) })
async function answer (msg: { id: number, cmd: string }): Promise<void> {
  let result: unknown
  if (msg.cmd === 'timings') { result = [...timings.values()]; timings.clear() } else if (msg.cmd === 'stats') result = await stats()
  else if (msg.cmd === 'gc') { fullGc(); result = await stats() }
  else if (msg.cmd === 'purge') {
    purge.startedAt = performance.now()
    void svc.retention.runPass().then(r => { purge.report = r }, (err: Error) => { purge.error = err.message }).finally(() => { purge.endedAt = performance.now() })
    result = { startedAt: purge.startedAt }
  } else if (msg.cmd === 'purge-status') result = { busy: svc.retention.busy, ...purge }
  process.send?.({ id: msg.id, result })
}
process.once('SIGTERM', () => { void svc.stop().finally(() => process.exit(0)) })
process.once('disconnect', () => { void svc.stop().finally(() => process.exit(0)) })

const url = await svc.start()
while (!svc.ami.ready) await new Promise(resolve => setTimeout(resolve, 10))
process.stderr.write(`LISTENING ${url}\n`)
