// Benchmark: the HA group (issue 14). Two instances of src/server.ts, each its own
// process (log level warn), one throwaway PostgreSQL (lib/engines.ts), a fake AMI that
// answers at once (lib/fake-pbx.ts), leaseMs 2000 (--lease-ms).
//  1. Takeover: --kills times, SIGKILL the active and time until the other one's
//     /readyz says "active" (polled every 20 ms); the killed one is started again (it
//     joins as a standby) before the next round, so the two take turns. Median and max;
//     target: max <= leaseMs + 3 s. What it is made of: the lease running out (at most
//     leaseMs after the last renewal) and the survivor building its service (store
//     loaded, AMI login and resync): both apart are in the JSON lines.
//  2. The button through a standby against the same on the active, same run: --agents
//     calls made ready to transfer, then one press at a time, alternating between the
//     active's port and the standby's (which forwards to the active): the client's round
//     trip p50/p99 of each, and their ratio (the forward's cost).
//  3. A standby at rest: CPU seconds over --rest-s seconds and RSS, beside the active's
//     at rest over the same seconds.
//   tsx test/bench/ha-group.ts [--kills 10] [--agents 100] [--lease-ms 2000] [--rest-s 20]
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeFileSync, mkdtempSync } from 'node:fs'
import os from 'node:os'
import { Agent, request } from 'undici'
import YAML from 'yaml'
import { numArg } from './lib/args.ts'
import { callsReadyToTransfer, serviceClient } from './lib/button.ts'
import { agentToken, benchRawConfig } from './lib/config.ts'
import { agentIds } from './lib/ami-stream.ts'
import { Engines } from './lib/engines.ts'
import { FakePbx } from './lib/fake-pbx.ts'
import type { Target } from './lib/proc.ts'
import { figure, machineFigure, median, met, MB, note, percentile, procStat, round, sleep, summary } from './lib/report.ts'

const BENCH = 'ha-group'
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const kills = numArg('kills', 10)
const agents = numArg('agents', 100)
const leaseMs = numArg('lease-ms', 2000)
const restS = numArg('rest-s', 20)

interface Instance { id: string, port: number, url: string, file: string, child?: ChildProcess }

const pbx = await FakePbx.start()
const engines = new Engines()
const db = await engines.database('postgres')
const dir = mkdtempSync(path.join(os.tmpdir(), 'pln123-bench-ha-'))
const freePort = async (): Promise<number> => {
  const { createServer } = await import('node:net')
  return await new Promise(resolve => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)) }) })
}
const instances: Instance[] = []
for (const id of ['cti-a', 'cti-b']) {
  const port = await freePort()
  const raw = benchRawConfig({ amiPort: pbx.port, agents, logLevel: 'warn', acwSeconds: 0 })
  raw.http.port = port
  const file = path.join(dir, `${id}.yaml`)
  writeFileSync(file, YAML.stringify(raw))
  instances.push({ id, port, url: `http://127.0.0.1:${port}`, file })
}

function start (inst: Instance): void {
  inst.child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, ...db.env, CTI_CONFIG: inst.file, CTI_HA_INSTANCE_ID: inst.id, CTI_HA_ADVERTISE_URL: inst.url, CTI_HA_LEASE_MS: String(leaseMs) }
  })
}
async function role (inst: Instance): Promise<string | undefined> {
  try {
    const res = await request(`${inst.url}/readyz`, { headersTimeout: 500, bodyTimeout: 500 })
    const body = await res.body.json() as { role?: string }
    return res.statusCode === 200 ? body.role : undefined
  } catch { return undefined }
}
async function until (what: string, fn: () => Promise<boolean>, timeoutMs: number, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!await fn()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`)
    await sleep(everyMs)
  }
}
async function kill (inst: Instance): Promise<void> {
  const child = inst.child
  if (child === undefined || child.exitCode !== null) return
  const gone = new Promise(resolve => child.once('exit', resolve))
  child.kill('SIGKILL')
  await gone
}

machineFigure(BENCH)
try {
  const [a, b] = instances as [Instance, Instance]
  start(a)
  await until('cti-a active', async () => await role(a) === 'active', 60_000)
  start(b)
  await until('cti-b standby', async () => await role(b) === 'standby', 60_000)

  // 3 first, while nothing else runs: both at rest.
  const before = { a: procStat(a.child?.pid as number), b: procStat(b.child?.pid as number) }
  await sleep(restS * 1000)
  const after = { a: procStat(a.child?.pid as number), b: procStat(b.child?.pid as number) }
  const standbyCpu = after.b.cpuSeconds - before.b.cpuSeconds
  const activeCpu = after.a.cpuSeconds - before.a.cpuSeconds
  figure({ bench: BENCH, name: 'standby-rest-cpu', value: standbyCpu / restS * 100, unit: '% of a core', seconds: restS })
  figure({ bench: BENCH, name: 'active-rest-cpu', value: activeCpu / restS * 100, unit: '% of a core', seconds: restS })
  figure({ bench: BENCH, name: 'standby-rss', value: after.b.rssBytes / MB, unit: 'MB' })
  figure({ bench: BENCH, name: 'active-rss', value: after.a.rssBytes / MB, unit: 'MB' })

  // 2. The button through the standby and on the active, interleaved.
  const http = new Agent({ connections: 4 })
  const call = serviceClient(http)
  const ids = agentIds(agents)
  const active: Target = { url: a.url } as Target
  const standby: Target = { url: b.url } as Target
  const callIds = await callsReadyToTransfer(call, active, ids, 'ha', 'r1')
  const viaActive: number[] = []
  const viaStandby: number[] = []
  for (const [i, callId] of callIds.entries()) {
    const svc = i % 2 === 0 ? standby : active
    const r = await call(svc, 'POST', `/v1/calls/${callId}/direct-transfer`, agentToken(ids[i] as string), { target: 3 })
    if (r.status !== 200) throw new Error(`press ${i} through ${svc.url}: HTTP ${r.status} ${JSON.stringify(r.body)}`)
    ;(svc === standby ? viaStandby : viaActive).push(r.ms)
  }
  await http.close()
  const p = (xs: number[], q: number): number => percentile(xs, q)
  figure({ bench: BENCH, name: 'button-active-p50', value: p(viaActive, 50), unit: 'ms', n: viaActive.length })
  figure({ bench: BENCH, name: 'button-active-p99', value: p(viaActive, 99), unit: 'ms', n: viaActive.length })
  figure({ bench: BENCH, name: 'button-standby-p50', value: p(viaStandby, 50), unit: 'ms', n: viaStandby.length })
  figure({ bench: BENCH, name: 'button-standby-p99', value: p(viaStandby, 99), unit: 'ms', n: viaStandby.length })
  const ratio = p(viaStandby, 99) / p(viaActive, 99)
  figure({ bench: BENCH, name: 'button-standby-over-active-p99', value: ratio, unit: 'x' })

  // 1. Takeovers.
  const times: number[] = []
  let [act, sby] = [a, b]
  for (let k = 0; k < kills; k++) {
    const t0 = Date.now()
    await kill(act)
    await until(`${sby.id} takes over`, async () => await role(sby) === 'active', leaseMs + 30_000)
    const ms = Date.now() - t0
    times.push(ms)
    figure({ bench: BENCH, name: 'takeover', value: ms, unit: 'ms', round: k + 1, from: act.id, to: sby.id })
    note(`takeover ${k + 1}/${kills}: ${act.id} killed, ${sby.id} active after ${ms} ms`)
    start(act)
    await until(`${act.id} back as standby`, async () => await role(act) === 'standby', 60_000)
    ;[act, sby] = [sby, act]
  }
  const target = leaseMs + 3000
  figure({ bench: BENCH, name: 'takeover-median', value: median(times), unit: 'ms' })
  figure({ bench: BENCH, name: 'takeover-max', value: Math.max(...times), unit: 'ms', target, met: Math.max(...times) <= target })
  summary(BENCH, `takeover over ${kills} kills median ${round(median(times))} ms, max ${round(Math.max(...times))} ms (target <= ${target}: ${met(Math.max(...times) <= target)}); ` +
    `button p99 via standby ${round(p(viaStandby, 99))} ms vs active ${round(p(viaActive, 99))} ms (${round(ratio)}x; p50 ${round(p(viaStandby, 50))} vs ${round(p(viaActive, 50))}); ` +
    `standby at rest ${round(standbyCpu / restS * 100)} % CPU, ${round(after.b.rssBytes / MB)} MB RSS (active at rest ${round(activeCpu / restS * 100)} %, ${round(after.a.rssBytes / MB)} MB)`)
} finally {
  for (const inst of instances) await kill(inst)
  await db.drop().catch(() => {})
  await engines.close()
  pbx.server.close()
  for (const s of pbx.sockets) s.destroy()
}
