// Benchmark: does a /readyz storm hurt real users? 2,000 GET /readyz at concurrency 50
// (what a misconfigured load balancer, or anyone who can reach the port, may send)
// beside an authenticated read, GET /v1/agents with the supervisor token (200 agents),
// on the real service (createService, SQLite store, logged in to a fake AMI) in its
// own process. Per round, the read alone (baseline) and the read while the /readyz load
// runs (the read's run is stopped when the /readyz load ends, so it measures only the
// overlap), same process, same run; rounds alternate which comes first. Reported: the
// read's p99 with the load over its p99 alone (median of rounds). Target: <= 3.
// Before issue 12 every /readyz was a durable SQLite write (synchronous FULL).
//   tsx test/bench/readyz.ts [--rounds 5] [--readyz 2000] [--connections 50] [--read-connections 5]
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { TOKENS } from './lib/config.ts'
import { startTarget } from './lib/proc.ts'
import { figure, machineFigure, median, met, note, procStat, round, summary } from './lib/report.ts'
import { numArg } from './lib/args.ts'

const BENCH = 'readyz'
const here = path.dirname(fileURLToPath(import.meta.url))
const rounds = numArg('rounds', 5)
const probes = numArg('readyz', 2000)
const connections = numArg('connections', 50)
const readConnections = numArg('read-connections', 5)
const TARGET = 3

type Result = Awaited<ReturnType<typeof autocannon>>
type Options = Parameters<typeof autocannon>[0]

const READ = { path: '/v1/agents', headers: { authorization: `Bearer ${TOKENS.supervisor}` } }

/** Runs autocannon; `until` (when given) stops it early when it settles. */
async function cannon (opts: Options, until?: Promise<unknown>): Promise<Result> {
  return await new Promise<Result>((resolve, reject) => {
    const inst = autocannon(opts, (err, res) => { if (err !== null && err !== undefined) reject(err); else resolve(res) })
    void until?.then(() => { inst.stop() })
  })
}

interface Round { baseP99: number, baseP50: number, baseRps: number, loadedP99: number, loadedP50: number, loadedRps: number, overlapS: number, readyzRps: number, readyzP99: number, failed: number, cpuUsPerProbe: number }

machineFigure(BENCH)
const target = await startTarget(path.join(here, 'lib', 'serve.ts'), ['app', 'info', '200'])
const results: Round[] = []
try {
  const url = (p: string): string => `${target.url}${p}`
  for (const [p, h] of [['/readyz', {}], [READ.path, READ.headers]] as const) {
    const r = await fetch(url(p), { headers: h })
    if (r.status !== 200) throw new Error(`GET ${p} answered ${r.status}: ${await r.text()}`)
  }
  // Warm-up: JIT, connection handling, the agents view.
  await cannon({ url: url(READ.path), headers: READ.headers, connections: readConnections, duration: 1 })
  await cannon({ url: url('/readyz'), connections, amount: Math.min(probes, 500) })

  for (let r = 0; r < rounds; r++) {
    const loaded = async (): Promise<Pick<Round, 'loadedP99' | 'loadedP50' | 'loadedRps' | 'overlapS' | 'readyzRps' | 'readyzP99' | 'failed' | 'cpuUsPerProbe'>> => {
      const s0 = procStat(target.pid)
      const t0 = Date.now()
      const storm = cannon({ url: url('/readyz'), connections, amount: probes })
      const read = await cannon({ url: url(READ.path), headers: READ.headers, connections: readConnections, duration: 120 }, storm)
      const st = await storm
      const overlapS = (Date.now() - t0) / 1000
      const s1 = procStat(target.pid)
      return {
        loadedP99: read.latency.p99,
        loadedP50: read.latency.p50,
        loadedRps: read.requests.average,
        overlapS,
        // autocannon's req/s is a per-second sample: over a ~1 s run, the count. Ours: probes over the overlap.
        readyzRps: probes / overlapS,
        readyzP99: st.latency.p99,
        failed: read.non2xx + read.errors + st.non2xx + st.errors,
        // Server CPU over the overlap, per /readyz (the read's share included: an upper bound).
        cpuUsPerProbe: (s1.cpuSeconds - s0.cpuSeconds) * 1e6 / probes
      }
    }
    const alone = async (seconds: number): Promise<Pick<Round, 'baseP99' | 'baseP50' | 'baseRps'>> => {
      const res = await cannon({ url: url(READ.path), headers: READ.headers, connections: readConnections, duration: Math.max(1, Math.round(seconds)) })
      return { baseP99: res.latency.p99, baseP50: res.latency.p50, baseRps: res.requests.average }
    }
    let row: Round
    if (r % 2 === 0) {
      const l = await loaded()
      row = { ...await alone(l.overlapS), ...l }
    } else {
      const b = await alone(2)
      row = { ...b, ...await loaded() }
    }
    results.push(row)
    note(`round ${r + 1}/${rounds}: read p99 alone ${row.baseP99} ms (p50 ${row.baseP50}, ${Math.round(row.baseRps)} req/s), with ${probes} /readyz at ${connections} ${row.loadedP99} ms (p50 ${row.loadedP50}, ${Math.round(row.loadedRps)} req/s) = ${(row.loadedP99 / row.baseP99).toFixed(2)}x; /readyz ${Math.round(row.readyzRps)} req/s p99 ${row.readyzP99} ms over ${row.overlapS.toFixed(1)} s${row.failed > 0 ? `; ${row.failed} failed` : ''}`)
  }
} finally {
  await target.stop()
}

const med = (k: keyof Round): number => median(results.map(x => x[k]))
// A p99 of 0 or 1 ms is at autocannon's 1 ms resolution: floor the baseline at 1 ms.
const ratio = median(results.map(x => x.loadedP99 / Math.max(1, x.baseP99)))
figure({ bench: BENCH, name: 'read_p99.alone', value: med('baseP99'), unit: 'ms', p50: med('baseP50'), rps: round(med('baseRps')), path: READ.path, connections: readConnections })
figure({ bench: BENCH, name: 'read_p99.with_readyz', value: med('loadedP99'), unit: 'ms', p50: med('loadedP50'), rps: round(med('loadedRps')), readyz: probes, readyzConnections: connections })
figure({ bench: BENCH, name: 'readyz.req_per_s', value: med('readyzRps'), unit: 'req/s', p99: med('readyzP99'), note: 'a lower bound: autocannon finishes on its 1 s tick' })
figure({ bench: BENCH, name: 'readyz.server_cpu_per_probe', value: med('cpuUsPerProbe'), unit: 'us', note: 'server CPU over the overlap / probes; includes the read' })
figure({ bench: BENCH, name: 'failed', value: results.reduce((a, x) => a + x.failed, 0), unit: 'requests' })
figure({ bench: BENCH, name: 'ratio.read_p99_with_over_alone', value: ratio, unit: 'ratio', target: TARGET, met: ratio <= TARGET, runs: results.map(x => round(x.loadedP99 / Math.max(1, x.baseP99))) })
summary(BENCH, `GET ${READ.path} p99 ${med('baseP99')} ms alone, ${med('loadedP99')} ms beside ${probes} GET /readyz at concurrency ${connections} (>= ${Math.round(med('readyzRps'))} req/s): ${ratio.toFixed(2)}x. Target <= ${TARGET}x: ${met(ratio <= TARGET)} (median of ${rounds} rounds, read at ${readConnections} connections)`)
