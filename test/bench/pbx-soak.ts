// Benchmark 5, soak on the real PBX: the Asterisk 22 sandbox with 20 queue members
// (Local/1001..1020@agents/n), the service as its own process (src/server.ts, exactly
// as deployed, config from a file, log level info to /dev/null), a local APKT
// receiver, and a driver (the sandbox admin AMI user) placing 500 calls at 5 calls/s,
// the four topics in turn. Each call: reaches an agent through the queue, gets its
// inquiry (coverage and billing: educate; activation and disruption: transfer), then
// either the customer hangs up after a short talk, or consent + Direct Transfer 3, the
// customer lands at CC ICONNET (UserEvent IconnetArrived), and hangs up there; ACW of
// 2 s per agent. The driver learns call ids from the service's SSE feed, as a
// dashboard would.
// Reported: calls completed, transfers landed (each must equal its expectation), APKT
// records per call: distinct records (by Idempotency-Key = record id, so a retried post
// is the same record) counted per call, calls with 0, 1 and more than 1; every call
// must have exactly one (nothing lost, nothing doubled), transfer latency p50/p99 (button -> 200, client
// side), the service's RSS at start and end (growth < 20 MB) and CPU seconds per 1,000
// calls (from /proc), with Asterisk's own CPU per 1,000 calls as the baseline beside it.
// Per store engine, in sequence on the same PBX (lib/engines.ts): the service on SQLite,
// then a fresh service on PostgreSQL (a throwaway local cluster, its URL in
// CTI_STORE_URL as in production), each with the full run of calls; every figure
// carries `engine`. For PostgreSQL the service's CPU is its own process only: the
// database server's CPU is reported beside it (postgres_cpu_seconds_per_1000_calls,
// every process of the cluster), not added in. Targets (issue 13): 0 lost on both
// engines; service CPU per call <= Asterisk's.
//   tsx test/bench/pbx-soak.ts [--engines sqlite,postgres] [--calls 500] [--rate 5] [--agents 20] [--acw 2]
//   BENCH_CPU_PROF=<dir> ... writes the service's V8 CPU profile there (its start included)
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import Fastify from 'fastify'
import pino from 'pino'
import { Agent, request } from 'undici'
import { AmiClient, type AmiEvent } from '../../src/ami/index.ts'
import { ADMIN_USER, freePort, projectRoot } from '../pbx/sandbox.ts'
import { agentIds } from './lib/ami-stream.ts'
import { sandboxWithAgents } from './lib/pbx.ts'
import { agentToken, benchRawConfig, TOKENS } from './lib/config.ts'
import { figure, machineFigure, MB, met, note, percentile, procStat, round, sleep, summary } from './lib/report.ts'
import { numArg } from './lib/args.ts'
import { enginesArg, Engines, type Engine } from './lib/engines.ts'
import { tallyRecords } from './lib/records.ts'
import { waitFor } from '../helpers/ami.ts'

const BENCH = 'pbx-soak'
const CALLS = numArg('calls', 500)
const RATE = numArg('rate', 5)
const AGENTS = numArg('agents', 20)
const ACW = numArg('acw', 2)
const TOPICS = ['coverage', 'billing', 'activation', 'disruption'] as const
const EXTRA: Record<string, Record<string, unknown>> = { coverage: { area: 'Cilincing Jakarta Utara' }, billing: { subscribedViaPlnMobile: false } }
const isTransfer = (topic: string): boolean => topic === 'activation' || topic === 'disruption'

machineFigure(BENCH)
const ids = agentIds(AGENTS)

// The PBX: the project's queues.conf with its members replaced by the benchmark's agents.
const sb = await sandboxWithAgents(ids)

// The APKT receiver: the distinct records (Idempotency-Key = record id) of each call.
const recordsByCall = new Map<string, Set<string>>()
const keys = new Set<string>()
let posts = 0
const apkt = Fastify()
apkt.post('/apkt/records', async (req, reply) => {
  posts++
  const key = String(req.headers['idempotency-key'])
  keys.add(key)
  const callId = String((req.body as { callId?: string }).callId)
  const records = recordsByCall.get(callId) ?? new Set<string>()
  records.add(key)
  recordsByCall.set(callId, records)
  return await reply.code(201).send({ ok: true })
})
const apktUrl = `${await apkt.listen({ host: '127.0.0.1', port: 0 })}/apkt/records`

const engines = enginesArg()
const stores = new Engines()
const http = new Agent({ connections: 64, keepAliveTimeout: 60_000, bodyTimeout: 0 })
let base = ''

interface Running { pid: number, stop: () => Promise<void>, stderr: () => string }

/** The service, as deployed: src/server.ts with a config file, the store engine from the environment. */
async function startService (engine: Engine): Promise<Running> {
  const db = await stores.database(engine)
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pln123-bench-soak-'))
  const raw = benchRawConfig({ amiPort: sb.amiPort, agents: AGENTS, acwSeconds: ACW, apktUrl, storePath: path.join(dir, 'cti.db'), logLevel: 'info' })
  raw.http.port = await freePort()
  raw.apkt.dispatcher = { pollMs: 200, backoff: { initialMs: 200, maxMs: 2000 } }
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(raw)) // JSON is YAML
  const prof = process.env.BENCH_CPU_PROF !== undefined ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : []
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', 'src/server.ts'], { cwd: projectRoot, env: { ...process.env, ...db.env, CTI_CONFIG: path.join(dir, 'config.json') }, stdio: ['ignore', 'ignore', 'pipe'] })
  let childErr = ''
  child.stderr?.on('data', (d: Buffer) => { childErr += d.toString() })
  const childExit = new Promise<void>(resolve => child.once('exit', () => resolve()))
  base = `http://127.0.0.1:${raw.http.port as number}`
  return {
    pid: child.pid as number,
    stderr: () => childErr,
    stop: async () => {
      child.kill('SIGTERM')
      await Promise.race([childExit, sleep(prof.length > 0 ? 60_000 : 10_000)]) // a profile is written at exit
      if (child.exitCode === null) child.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
      await db.drop()
    }
  }
}

async function api (method: 'GET' | 'POST', url: string, token: string, body?: unknown): Promise<{ status: number, body: any }> {
  const res = await request(`${base}${url}`, { method, dispatcher: http, headers: { ...(token !== '' ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) })
  const text = await res.body.text()
  try { return { status: res.statusCode, body: JSON.parse(text) } } catch { return { status: res.statusCode, body: text } }
}

// The driver's view of the PBX.
const admin = new AmiClient({ host: '127.0.0.1', port: sb.amiPort, ...ADMIN_USER, actionTimeoutMs: 5000, connectTimeoutMs: 5000, pingIntervalMs: 10_000, reconnect: { initialMs: 200, maxMs: 2000 }, logger: pino({ level: 'silent' }) })
const customerOf = new Map<string, string>() // callId -> customer channel (AgentConnect)
const arrivedOf = new Map<string, string>() // callId -> channel that reached ICONNET
admin.on('event', (e: AmiEvent) => {
  if (e.known && e.event === 'AgentConnect') customerOf.set(e.linkedid, e.channel)
  else if (e.known && e.event === 'UserEvent' && e.userEvent === 'IconnetArrived') arrivedOf.set(e.fields.linkedid ?? '', e.fields.channel ?? '')
})

interface CallView { callId: string, state: string, agentId?: string, callerIdNum?: string, endedAt?: string, endReason?: string }
const byCaller = new Map<string, CallView>()
const byId = new Map<string, CallView>()

async function followFeed (signal: AbortSignal): Promise<void> {
  const res = await request(`${base}/v1/events`, { dispatcher: http, signal, headers: { authorization: `Bearer ${TOKENS.supervisor}` } })
  let buf = ''
  for await (const chunk of res.body) {
    buf += (chunk as Buffer).toString()
    let i: number
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const frame = buf.slice(0, i)
      buf = buf.slice(i + 2)
      if (!/^event: call$/m.test(frame)) continue
      const data = /^data: (.*)$/m.exec(frame)?.[1]
      if (data === undefined) continue
      const c = JSON.parse(data) as CallView
      byId.set(c.callId, c)
      if (c.callerIdNum !== undefined) byCaller.set(c.callerIdNum, c)
    }
  }
}

const finished = (c: CallView | undefined): boolean => c !== undefined && (c.state === 'ended' || (c.state === 'transferred' && c.endedAt !== undefined))

interface Outcome { ok: boolean, topic: string, callId?: string, transferMs?: number, landed?: boolean, error?: string }

async function oneCall (i: number): Promise<Outcome> {
  const topic = TOPICS[i % TOPICS.length] as string
  const caller = `0812${String(10_000_000 + i)}`
  let callId: string | undefined
  try {
    await admin.action('Originate', { Channel: 'Local/s@caller', Context: 'inbound', Exten: '123', Priority: 1, CallerID: `"Pelanggan ${i}" <${caller}>`, Async: 'true' })
    const c = await waitFor(`call ${i} connected`, () => { const v = byCaller.get(caller); return v?.state === 'connected' && v.agentId !== undefined ? v : undefined }, 120_000)
    callId = c.callId
    const token = agentToken(c.agentId as string)
    const inq = await api('POST', `/v1/calls/${c.callId}/inquiry`, token, { topic, customer: { name: `Pelanggan ${i}`, salutation: i % 2 === 0 ? 'Bapak' : 'Ibu' }, ...EXTRA[topic] })
    if (inq.status !== 200) throw new Error(`inquiry: HTTP ${inq.status} ${JSON.stringify(inq.body)}`)
    await sleep(300 + Math.random() * 700) // the agent talks
    if (isTransfer(topic)) {
      const con = await api('POST', `/v1/calls/${c.callId}/consent`, token, { accepted: true })
      if (con.status !== 200) throw new Error(`consent: HTTP ${con.status} ${JSON.stringify(con.body)}`)
      const t0 = performance.now()
      const tr = await api('POST', `/v1/calls/${c.callId}/direct-transfer`, token, { target: 3 })
      const transferMs = performance.now() - t0
      if (tr.status !== 200) throw new Error(`direct-transfer: HTTP ${tr.status} ${JSON.stringify(tr.body)}`)
      const arrived = await waitFor(`call ${i} at ICONNET`, () => arrivedOf.get(c.callId), 20_000)
      await sleep(200 + Math.random() * 300) // ICONNET talks, then the customer hangs up
      await admin.action('Hangup', { Channel: arrived })
      await waitFor(`call ${i} over`, () => finished(byId.get(c.callId)), 30_000)
      return { ok: true, topic, callId, transferMs, landed: true }
    }
    const customer = await waitFor(`call ${i} customer channel`, () => customerOf.get(c.callId), 10_000)
    await admin.action('Hangup', { Channel: customer })
    await waitFor(`call ${i} over`, () => finished(byId.get(c.callId)), 30_000)
    return { ok: true, topic, callId }
  } catch (err) {
    return { ok: false, topic, ...(callId !== undefined ? { callId } : {}), error: (err as Error).message }
  }
}

/** CPU seconds of every process of the PostgreSQL cluster (postmaster and backends), or NaN without one. */
function postgresCpu (pgPids: () => number[]): number {
  let sum = 0
  for (const pid of pgPids()) { try { sum += procStat(pid).cpuSeconds } catch {} }
  return sum
}

/** The postmaster (its pid file in the cluster's data dir) and its children. */
function clusterPids (dataDir: string | undefined): () => number[] {
  return () => {
    if (dataDir === undefined) return []
    try {
      const master = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0])
      const children = readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim().split(/\s+/).filter(x => x !== '').map(Number)
      return [master, ...children]
    } catch { return [] }
  }
}

async function soak (engine: Engine): Promise<{ ok: boolean, text: string }> {
  byCaller.clear(); byId.clear(); customerOf.clear(); arrivedOf.clear(); recordsByCall.clear(); keys.clear(); posts = 0
  const svc = await startService(engine)
  const E = { engine }
  const pgPids = clusterPids(engine === 'postgres' ? await stores.dataDir() : undefined)
  const feed = new AbortController()
  try {
    const readyBy = Date.now() + 30_000
    for (;;) {
      try { if ((await api('GET', '/readyz', '')).status === 200) break } catch {}
      if (Date.now() > readyBy) throw new Error(`service not ready:\n${svc.stderr()}`)
      await sleep(100)
    }
    void followFeed(feed.signal).catch(() => {})
    await sleep(1000)
    const pid = svc.pid
    const asteriskPid = sb.asteriskPid()
    const start = procStat(pid)
    const startPbx = asteriskPid !== undefined ? procStat(asteriskPid) : undefined
    const startPg = postgresCpu(pgPids)
    note(`service pid ${pid}: RSS ${(start.rssBytes / MB).toFixed(1)} MB at start; placing ${CALLS} calls at ${RATE}/s`)

    const t0 = Date.now()
    let warm: { cpuSeconds: number, rssBytes: number } | undefined
    const runs: Array<Promise<Outcome>> = []
    for (let i = 0; i < CALLS; i++) {
      const due = t0 + (i * 1000) / RATE
      if (due > Date.now()) await sleep(due - Date.now())
      runs.push(oneCall(i))
      if ((i + 1) % 100 === 0) {
        const now = procStat(pid)
        if (warm === undefined) warm = now // after the first 100 calls: code compiled, caches full
        note(`${i + 1} calls placed, ${[...byId.values()].filter(finished).length} finished, RSS ${(now.rssBytes / MB).toFixed(1)} MB`)
      }
    }
    const outcomes = await Promise.all(runs)
    const placedSeconds = (Date.now() - t0) / 1000
    // Every call's record delivered, every agent out of ACW. A call the driver never
    // learnt the id of (it failed before an agent took it) counts as a call without one.
    const callIds = outcomes.flatMap(o => o.callId !== undefined ? [o.callId] : [])
    const recDeadline = Date.now() + 30_000
    while (callIds.some(id => recordsByCall.get(id) === undefined) && Date.now() < recDeadline) await sleep(100)
    const agentsDeadline = Date.now() + 30_000
    let agentStates: Record<string, number> = {}
    for (;;) {
      const r = await api('GET', '/v1/agents', TOKENS.supervisor)
      agentStates = {}
      for (const a of r.body as Array<{ state: string }>) agentStates[a.state] = (agentStates[a.state] ?? 0) + 1
      if ((agentStates.ready ?? 0) === AGENTS || Date.now() > agentsDeadline) break
      await sleep(200)
    }
    await sleep(2000) // and time for a second record of a call, if one were coming
    const end = procStat(pid)
    const endPbx = asteriskPid !== undefined ? procStat(asteriskPid) : undefined
    const endPg = postgresCpu(pgPids)

    const completed = outcomes.filter(o => o.ok).length
    const transfersExpected = outcomes.filter(o => isTransfer(o.topic)).length
    const landed = outcomes.filter(o => o.landed === true).length
    const { none: withNone, one: withOne, moreThanOne: withMore, unknownCalls: otherCalls, records, exactlyOne } = tallyRecords(CALLS, callIds, recordsByCall)
    const duplicates = posts - keys.size
    const lat = outcomes.flatMap(o => o.transferMs !== undefined ? [o.transferMs] : [])
    const growthMB = (end.rssBytes - start.rssBytes) / MB
    const cpuPer1000 = (end.cpuSeconds - start.cpuSeconds) / CALLS * 1000
    const pbxCpuPer1000 = startPbx !== undefined && endPbx !== undefined ? (endPbx.cpuSeconds - startPbx.cpuSeconds) / CALLS * 1000 : NaN
    const pgCpuPer1000 = engine === 'postgres' ? (endPg - startPg) / CALLS * 1000 : NaN
    const errors = outcomes.flatMap(o => o.error !== undefined ? [o.error] : [])
    // Exactly one record per call: a lost record and a second one both fail the verdict.
    const zeroLost = completed === CALLS && landed === transfersExpected && exactlyOne

    figure({ bench: BENCH, ...E, name: `${engine}.calls_completed`, value: completed, unit: 'calls', expected: CALLS, placedOverSeconds: round(placedSeconds) })
    figure({ bench: BENCH, ...E, name: `${engine}.transfers_landed`, value: landed, unit: 'calls', expected: transfersExpected })
    figure({ bench: BENCH, ...E, name: `${engine}.apkt_calls_with_exactly_one_record`, value: withOne, unit: 'calls', expected: CALLS, withNone, withMoreThanOne: withMore, recordsForUnknownCalls: otherCalls, records, posts, repeatedPosts: duplicates, met: exactlyOne })
    figure({ bench: BENCH, ...E, name: `${engine}.transfer_latency.p50`, value: percentile(lat, 50), unit: 'ms', presses: lat.length })
    figure({ bench: BENCH, ...E, name: `${engine}.transfer_latency.p99`, value: percentile(lat, 99), unit: 'ms', max: round(Math.max(...lat)) })
    figure({ bench: BENCH, ...E, name: `${engine}.rss_start`, value: start.rssBytes / MB, unit: 'MB' })
    figure({ bench: BENCH, ...E, name: `${engine}.rss_after_100_calls`, value: (warm?.rssBytes ?? NaN) / MB, unit: 'MB' })
    figure({ bench: BENCH, ...E, name: `${engine}.rss_end`, value: end.rssBytes / MB, unit: 'MB', growthMB: round(growthMB), growthSince100CallsMB: round((end.rssBytes - (warm?.rssBytes ?? NaN)) / MB), target: '< 20 MB growth', met: growthMB < 20 })
    figure({ bench: BENCH, ...E, name: `${engine}.cpu_seconds_per_1000_calls`, value: cpuPer1000, unit: 's', asteriskCpuSecondsPer1000Calls: round(pbxCpuPer1000), ratioToAsterisk: round(cpuPer1000 / pbxCpuPer1000) })
    figure({ bench: BENCH, ...E, name: `${engine}.cpu_target`, value: cpuPer1000 / pbxCpuPer1000, unit: 'ratio', target: '<= 1 (service CPU per call <= Asterisk\'s)', met: cpuPer1000 <= pbxCpuPer1000 })
    if (engine === 'postgres') figure({ bench: BENCH, ...E, name: `${engine}.postgres_cpu_seconds_per_1000_calls`, value: pgCpuPer1000, unit: 's', note: 'the database server, every process of the cluster; not in the service figure' })
    figure({ bench: BENCH, ...E, name: `${engine}.agents_at_end`, value: agentStates.ready ?? 0, unit: 'agents ready', states: agentStates })
    figure({ bench: BENCH, ...E, name: `${engine}.errors`, value: errors.length, unit: 'calls', first: errors.slice(0, 5) })
    const text = `[${engine}] completed ${completed}/${CALLS}, transfers landed ${landed}/${transfersExpected}, APKT records per call: exactly 1 for ${withOne}/${CALLS}, none for ${withNone}, more than 1 for ${withMore}${otherCalls > 0 ? `, records for ${otherCalls} calls the driver did not place` : ''} (${records} distinct records in ${posts} posts) -> ${zeroLost ? 'nothing lost, nothing doubled' : 'FAILED'}; ` +
      `transfer button -> 200 p50 ${percentile(lat, 50).toFixed(1)} ms, p99 ${percentile(lat, 99).toFixed(1)} ms; service RSS ${(start.rssBytes / MB).toFixed(1)} MB at start, ${((warm?.rssBytes ?? NaN) / MB).toFixed(1)} MB after 100 calls, ${(end.rssBytes / MB).toFixed(1)} MB at end (growth ${growthMB.toFixed(1)} MB, target < 20: ${met(growthMB < 20)}); ` +
      `service CPU ${cpuPer1000.toFixed(1)} s per 1000 calls (Asterisk ${pbxCpuPer1000.toFixed(1)} s, ratio ${(cpuPer1000 / pbxCpuPer1000).toFixed(2)}, target <= 1: ${met(cpuPer1000 <= pbxCpuPer1000)}` +
      `${engine === 'postgres' ? `; the PostgreSQL server besides ${pgCpuPer1000.toFixed(1)} s` : ''}); agents ready at end ${agentStates.ready ?? 0}/${AGENTS}`
    return { ok: zeroLost, text }
  } finally {
    feed.abort()
    await svc.stop()
  }
}

let exitCode = 0
try {
  admin.start()
  await waitFor('driver login', () => admin.ready, 60_000)
  const texts: string[] = []
  for (const engine of engines) {
    const r = await soak(engine)
    texts.push(r.text)
    if (!r.ok) exitCode = 1
  }
  summary(BENCH, `${CALLS} calls at ${RATE}/s on Asterisk 22 with ${AGENTS} agents, ACW ${ACW} s, per engine: ${texts.join('. ')}`)
} finally {
  await admin.close().catch(() => {})
  await http.close().catch(() => {})
  await apkt.close()
  await stores.close()
  await sb.destroy()
}
process.exit(exitCode)
