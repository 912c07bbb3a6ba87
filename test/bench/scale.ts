// Benchmark 6, scale model: the real service (own process, real SQLite store, log
// level info) with 1,000 configured agents and 5,000 tracked calls, against the same
// service with 20 agents as the baseline in the same run.
//   - memory: RSS and V8 heap after a full GC, idle and with the calls tracked
//     (1,000 connected to agents through AMI events, 4,000 waiting, reported by the
//     dialplan as CTI call.offered events);
//   - per-event cost: the same kind of AMI stream (lib/ami-stream.ts, ~100,000 events:
//     the connected calls end, new waves of calls come and go) streamed as fast as the
//     service takes it; the service's CPU time per event and events/s, with 1,000
//     agents and 5,000 tracked calls vs 20 agents and 20 calls;
//   - supervisor reads at that size: GET /v1/agents (all 1,000) and the SSE snapshot.
//   tsx test/bench/scale.ts [--agents 1000] [--waiting 4000] [--events 100000]
import os from 'node:os'
import path from 'node:path'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Agent, request } from 'undici'
import { generateCalls, type CallScript } from './lib/ami-stream.ts'
import { benchRawConfig, TOKENS } from './lib/config.ts'
import { FakePbx } from './lib/fake-pbx.ts'
import { startTarget, type Target } from './lib/proc.ts'
import { figure, machineFigure, MB, median, note, percentile, round, sleep, summary } from './lib/report.ts'
import { numArg } from './lib/args.ts'
import { eventually } from '../helpers/ami.ts'

const BENCH = 'scale'
const here = path.dirname(fileURLToPath(import.meta.url))
const LARGE = numArg('agents', 1000)
const WAITING = numArg('waiting', 4000)
const EVENTS = numArg('events', 100_000)
const SMALL = 20

interface Stats { rssBytes: number, heapUsedBytes: number, externalBytes: number, cpuSeconds: number, liveCalls: number, eventLoopDelay: { p99Ms: number, maxMs: number } }

const http = new Agent({ connections: 64, keepAliveTimeout: 60_000 })
async function api (svc: Target, method: 'GET' | 'POST', url: string, token: string, body?: unknown): Promise<{ status: number, body: any, bytes: number, ms: number }> {
  const t0 = performance.now()
  const res = await request(`${svc.url}${url}`, { method, dispatcher: http, headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) })
  const text = await res.body.text()
  const ms = performance.now() - t0
  let parsed: unknown = text
  try { parsed = JSON.parse(text) } catch {}
  return { status: res.statusCode, body: parsed, bytes: text.length, ms }
}

/** The first bytes of an SSE stream up to the end of its snapshot event. */
async function snapshotSize (svc: Target): Promise<{ bytes: number, ms: number }> {
  const t0 = performance.now()
  const ac = new AbortController()
  const res = await request(`${svc.url}/v1/events`, { dispatcher: http, headers: { authorization: `Bearer ${TOKENS.supervisor}` }, signal: ac.signal })
  let text = ''
  for await (const chunk of res.body) {
    text += (chunk as Buffer).toString()
    const i = text.indexOf('event: snapshot')
    if (i >= 0 && text.indexOf('\n\n', i) > 0) break
  }
  const ms = performance.now() - t0
  ac.abort()
  return { bytes: text.length, ms }
}

function interleave (lists: string[][]): string[] {
  const out: string[] = []
  for (let k = 0; ; k++) {
    let any = false
    for (const l of lists) { const e = l[k]; if (e !== undefined) { out.push(e); any = true } }
    if (!any) return out
  }
}

const ended = async (svc: Target, callId: string): Promise<boolean> => {
  const r = await api(svc, 'GET', `/v1/calls/${callId}`, TOKENS.supervisor)
  return r.status === 200 && (r.body.state === 'ended' || (r.body.state === 'transferred' && r.body.endedAt !== undefined))
}

interface Result {
  agents: number
  idle: Stats
  tracked: Stats
  after: Stats
  trackedCalls: number
  events: number
  cpuUsPerEvent: number
  eventsPerSec: number
  agentsList?: { ms: number, bytes: number }
  snapshot?: { ms: number, bytes: number }
}

async function model (pbx: FakePbx, agents: number, waiting: number): Promise<Result> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pln123-bench-scale-'))
  const raw = benchRawConfig({ amiPort: pbx.port, agents, storePath: path.join(dir, 'cti.db'), logLevel: 'info' })
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(raw))
  // BENCH_CPU_PROF=<dir>: the services write V8 CPU profiles there (node --cpu-prof).
  const prof = process.env.BENCH_CPU_PROF !== undefined ? ['--cpu-prof', '--cpu-prof-dir', path.join(process.env.BENCH_CPU_PROF, String(agents))] : []
  const svc = await startTarget(path.join(here, 'lib', 'service-child.ts'), [], { ipc: true, nodeArgs: [...prof], env: { BENCH_CONFIG_FILE: path.join(dir, 'config.json') }, timeoutMs: 60_000 })
  try {
    await sleep(500)
    const idle = await svc.ask<Stats>({ cmd: 'gc' })
    // Calls: wave 0 gets connected to every agent and stays; waves 1.. come and go later.
    const waves = Math.max(1, Math.round(EVENTS / 50 / agents))
    const scripts = generateCalls({ calls: agents * (waves + 1), agents, firstCall: 1_000_000 })
    const wave = (w: number): CallScript[] => scripts.slice(w * agents, (w + 1) * agents)
    pbx.send(interleave(wave(0).map(c => c.start)).join(''))
    const lastConnected = wave(0)[agents - 1] as CallScript
    await eventually('the connected calls', async () => (await api(svc, 'GET', `/v1/calls/${lastConnected.callId}`, TOKENS.supervisor)).body?.state === 'connected', 180_000)
    // Waiting callers, as the dialplan reports them.
    let next = 0
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next < waiting) {
        const i = next++
        const r = await api(svc, 'POST', '/v1/cti/events', TOKENS.pbx, { type: 'call.offered', callId: `wait-${i}`, data: { callerIdNum: `0813${String(i).padStart(8, '0')}`, customerChannel: `PJSIP/trunk-wait-${i}`, queue: 'pln123' } })
        if (r.status !== 202) throw new Error(`call.offered: HTTP ${r.status} ${JSON.stringify(r.body)}`)
      }
    }))
    const tracked = await svc.ask<Stats>({ cmd: 'gc' })
    const agentsList = agents === LARGE ? await (async () => {
      const runs: Array<{ ms: number, bytes: number }> = []
      for (let i = 0; i < 15; i++) { const r = await api(svc, 'GET', '/v1/agents', TOKENS.supervisor); runs.push({ ms: r.ms, bytes: r.bytes }) }
      return { ms: median(runs.map(r => r.ms)), bytes: runs[0]?.bytes ?? 0 }
    })() : undefined
    const snapshot = agents === LARGE ? await snapshotSize(svc) : undefined
    // The churn: wave 0 ends, waves 1..n come and go, the waiting calls stay tracked.
    const stream = [...interleave(wave(0).map(c => c.end))]
    for (let w = 1; w <= waves; w++) stream.push(...interleave(wave(w).map(c => [...c.start, ...c.end])))
    const payload = Buffer.from(stream.join(''), 'utf8')
    const last = wave(waves)[agents - 1] as CallScript
    const before = await svc.ask<Stats>({ cmd: 'stats' })
    const t0 = performance.now()
    await pbx.stream(payload)
    await eventually('the stream to be processed', async () => await ended(svc, last.callId), 180_000)
    const ms = performance.now() - t0
    const after = await svc.ask<Stats>({ cmd: 'stats' })
    const gcAfter = await svc.ask<Stats>({ cmd: 'gc' })
    const res: Result = {
      agents,
      idle,
      tracked,
      after: { ...gcAfter, eventLoopDelay: after.eventLoopDelay },
      trackedCalls: tracked.liveCalls,
      events: stream.length,
      cpuUsPerEvent: (after.cpuSeconds - before.cpuSeconds) * 1e6 / stream.length,
      eventsPerSec: stream.length / (ms / 1000),
      ...(agentsList !== undefined ? { agentsList } : {}),
      ...(snapshot !== undefined ? { snapshot } : {})
    }
    note(`${agents} agents: ${res.trackedCalls} tracked calls, RSS idle ${(idle.rssBytes / MB).toFixed(1)} MB -> ${(tracked.rssBytes / MB).toFixed(1)} MB, ${res.events} events at ${Math.round(res.eventsPerSec)}/s, ${res.cpuUsPerEvent.toFixed(1)} us CPU/event`)
    return res
  } finally {
    await svc.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

machineFigure(BENCH)
const pbx = await FakePbx.start()
try {
  const small = await model(pbx, SMALL, 0)
  const large = await model(pbx, LARGE, WAITING)
  for (const r of [small, large]) {
    const tag = `agents_${r.agents}`
    figure({ bench: BENCH, name: `${tag}.rss_idle`, value: r.idle.rssBytes / MB, unit: 'MB', heapUsedMB: round(r.idle.heapUsedBytes / MB) })
    figure({ bench: BENCH, name: `${tag}.rss_tracked`, value: r.tracked.rssBytes / MB, unit: 'MB', trackedCalls: r.trackedCalls, heapUsedMB: round(r.tracked.heapUsedBytes / MB) })
    figure({ bench: BENCH, name: `${tag}.rss_after_stream`, value: r.after.rssBytes / MB, unit: 'MB', heapUsedMB: round(r.after.heapUsedBytes / MB), liveCalls: r.after.liveCalls })
    figure({ bench: BENCH, name: `${tag}.cpu_per_event`, value: r.cpuUsPerEvent, unit: 'us', events: r.events })
    figure({ bench: BENCH, name: `${tag}.events_per_s`, value: r.eventsPerSec, unit: 'events/s', eventLoopP99Ms: round(r.after.eventLoopDelay.p99Ms) })
  }
  const perCallHeap = (large.tracked.heapUsedBytes - large.idle.heapUsedBytes) / large.trackedCalls
  const perCallRss = (large.tracked.rssBytes - large.idle.rssBytes) / large.trackedCalls
  // RSS moves by whole MB with the allocator; the heap after a full GC tells per-agent cost.
  const perAgentHeap = (large.idle.heapUsedBytes - small.idle.heapUsedBytes) / (LARGE - SMALL)
  const eventRatio = large.cpuUsPerEvent / small.cpuUsPerEvent
  figure({ bench: BENCH, name: 'heap_per_tracked_call', value: perCallHeap / 1024, unit: 'KB' })
  figure({ bench: BENCH, name: 'rss_per_tracked_call', value: perCallRss / 1024, unit: 'KB' })
  figure({ bench: BENCH, name: 'heap_per_configured_agent', value: perAgentHeap / 1024, unit: 'KB' })
  figure({ bench: BENCH, name: 'ratio.cpu_per_event_large_over_small', value: eventRatio, unit: 'ratio' })
  if (large.agentsList !== undefined) figure({ bench: BENCH, name: 'get_agents_1000.latency_p50', value: large.agentsList.ms, unit: 'ms', bytes: large.agentsList.bytes })
  if (large.snapshot !== undefined) figure({ bench: BENCH, name: 'sse_snapshot_5000_calls', value: large.snapshot.ms, unit: 'ms', bytes: large.snapshot.bytes })
  // One core's worth of events and what that means in calls (about 50 events per call).
  const eventsPerCore = 1e6 / large.cpuUsPerEvent
  figure({ bench: BENCH, name: 'capacity.events_per_cpu_second', value: eventsPerCore, unit: 'events/s' })
  figure({ bench: BENCH, name: 'capacity.calls_per_cpu_second', value: eventsPerCore / 50, unit: 'calls/s' })
  summary(BENCH, `${LARGE} agents + ${large.trackedCalls} tracked calls: RSS ${(large.tracked.rssBytes / MB).toFixed(0)} MB (idle ${(large.idle.rssBytes / MB).toFixed(0)} MB; ${SMALL} agents idle ${(small.idle.rssBytes / MB).toFixed(0)} MB), ${(perCallHeap / 1024).toFixed(1)} KB heap per tracked call, ${(perAgentHeap / 1024).toFixed(1)} KB per configured agent; ` +
    `AMI events cost ${large.cpuUsPerEvent.toFixed(1)} us CPU each (${Math.round(large.eventsPerSec)}/s) vs ${small.cpuUsPerEvent.toFixed(1)} us (${Math.round(small.eventsPerSec)}/s) with ${SMALL} agents = ${eventRatio.toFixed(2)}x; ` +
    `GET /v1/agents (${LARGE}) ${large.agentsList?.ms.toFixed(1) ?? '?'} ms, SSE snapshot ${((large.snapshot?.bytes ?? 0) / 1024).toFixed(0)} KB in ${large.snapshot?.ms.toFixed(0) ?? '?'} ms; one core ~ ${Math.round(eventsPerCore)} events/s ~ ${Math.round(eventsPerCore / 50)} calls/s`)
} finally {
  await http.close()
  await pbx.stop()
}
