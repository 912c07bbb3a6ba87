// What it costs on this machine to wake a peer that sleeps: the price of every hop a press
// makes one at a time (HTTP in and out, the AMI actions and their answers, each hand-over to
// the SQLite store's worker and its answer, the APKT post), measured with nothing of the
// service in it. Two paths:
//   tcp     two processes on loopback TCP (NODELAY), 200-byte messages echoed back
//   worker  this thread and a worker thread, postMessage of a small object echoed back
// each in two ways, side by side in one run, alternating per round:
//   one at a time   the next message only after the echo, so the peer sleeps in between
//                   (what a press pays at each hop when presses come one by one)
//   64 in flight    the peer never sleeps (what the same hops cost inside a burst)
// Figures: wall time and the CPU of both sides (user + system; the echo process's from its
// threads' schedstat in /proc, to the nanosecond)
// per round trip, medians over rounds, and the ratio of the two ways' CPU: what waking a
// sleeping peer adds.
//   tsx test/bench/wakeup.ts [--rounds 5] [--trips 4000]
import net from 'node:net'
import { fork } from 'node:child_process'
import { Worker } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'
import { figure, machineFigure, median, note, round, summary } from './lib/report.ts'
import { threadCpu } from './lib/threads.ts'
import { numArg } from './lib/args.ts'

const BENCH = 'wakeup'
const self = fileURLToPath(import.meta.url)

if (process.argv[2] === 'echo') {
  // The TCP peer: echoes whatever it reads.
  const s = net.connect(Number(process.argv[3]), '127.0.0.1')
  s.setNoDelay(true)
  s.on('data', d => s.write(d))
  s.on('close', () => process.exit(0))
} else {
  await main()
}

interface Trip { wallUs: number, cpuUs: number }

/**
 * Sends `trips` messages with at most `inFlight` unanswered; the CPU of this process (both
 * threads, for the worker) and of `peerCpuSeconds` (the echo process), if given.
 */
async function measure (send: () => void, onEcho: (cb: () => void) => void, trips: number, inFlight: number, peerCpuSeconds: () => number = () => 0): Promise<Trip> {
  return await new Promise(resolve => {
    let sent = 0
    let got = 0
    const c0 = process.cpuUsage()
    const p0 = peerCpuSeconds()
    const t0 = performance.now()
    onEcho(() => {
      got++
      if (got === trips) {
        const c = process.cpuUsage(c0)
        const peerUs = (peerCpuSeconds() - p0) * 1e6
        resolve({ wallUs: (performance.now() - t0) * 1000 / trips, cpuUs: (c.user + c.system + peerUs) / trips })
      } else if (sent < trips) { sent++; send() }
    })
    for (; sent < Math.min(inFlight, trips); sent++) send()
  })
}

async function main (): Promise<void> {
  const rounds = numArg('rounds', 5)
  const trips = numArg('trips', 4000)
  machineFigure(BENCH)

  // TCP: one echo process; a message is 200 bytes, so an echo read is one message (the
  // count below is by bytes all the same).
  const msg = 'x'.repeat(200)
  const { sock, child } = await new Promise<{ sock: net.Socket, child: ReturnType<typeof fork> }>(resolve => {
    const srv = net.createServer(s => { s.setNoDelay(true); srv.close(); resolve({ sock: s, child }) })
    let child: ReturnType<typeof fork>
    srv.listen(0, '127.0.0.1', () => { child = fork(self, ['echo', String((srv.address() as net.AddressInfo).port)], { execArgv: ['--import', 'tsx'] }) })
  })
  let tcpEcho: (() => void) | undefined
  let bytes = 0
  sock.on('data', d => { bytes += d.length; while (bytes >= msg.length) { bytes -= msg.length; tcpEcho?.() } })
  // Not /proc/<pid>/stat: its 10 ms ticks are about a quarter of the echo's CPU in a pass
  // of 4,000 trips 64 in flight.
  const echoCpu = (): number => child.pid !== undefined ? threadCpu(child.pid).reduce((sum, t) => sum + t.cpuNs, 0) / 1e9 : 0
  const tcp = async (inFlight: number): Promise<Trip> => await measure(() => sock.write(msg), cb => { tcpEcho = cb }, trips, inFlight, echoCpu)

  // Worker: echoes each message it gets.
  const worker = new Worker('const { parentPort } = require("node:worker_threads"); parentPort.on("message", m => parentPort.postMessage(m))', { eval: true })
  let workerEcho: (() => void) | undefined
  worker.on('message', () => workerEcho?.())
  const job = { op: 'commit', changes: [{ kind: 'call', callId: 'c-1', state: 'transferring' }] }
  const thread = async (inFlight: number): Promise<Trip> => await measure(() => worker.postMessage(job), cb => { workerEcho = cb }, trips, inFlight)

  const ways = { tcp, worker: thread }
  const res: Record<string, Trip[]> = {}
  try {
    // A warm-up pass of each, not counted.
    for (const run of Object.values(ways)) { await run(1); await run(64) }
    for (let r = 0; r < rounds; r++) {
      for (const [path, run] of Object.entries(ways)) {
        // Alternate which way goes first, so neither always runs on a warmer machine.
        const order = r % 2 === 0 ? [1, 64] : [64, 1]
        for (const inFlight of order) (res[`${path}.${inFlight}`] ??= []).push(await run(inFlight))
      }
      note(`round ${r + 1}/${rounds}: ${Object.entries(res).map(([k, v]) => `${k} ${v.at(-1)?.cpuUs.toFixed(1)} us CPU`).join(', ')}`)
    }
  } finally {
    sock.destroy()
    child.kill()
    await worker.terminate()
  }
  const text: string[] = []
  for (const path of Object.keys(ways)) {
    const one = res[`${path}.1`] ?? []
    const many = res[`${path}.64`] ?? []
    const cpu1 = median(one.map(x => x.cpuUs))
    const cpu64 = median(many.map(x => x.cpuUs))
    figure({ bench: BENCH, name: `${path}.one_at_a_time.cpu_per_round_trip`, value: cpu1, unit: 'us', wallUs: round(median(one.map(x => x.wallUs))), trips })
    figure({ bench: BENCH, name: `${path}.in_flight_64.cpu_per_round_trip`, value: cpu64, unit: 'us', wallUs: round(median(many.map(x => x.wallUs))), trips })
    figure({ bench: BENCH, name: `${path}.ratio.one_at_a_time_over_in_flight`, value: cpu1 / cpu64, unit: 'ratio' })
    text.push(`${path}: one at a time ${cpu1.toFixed(0)} us CPU (${median(one.map(x => x.wallUs)).toFixed(0)} us wall) a round trip, 64 in flight ${cpu64.toFixed(0)} us = ${(cpu1 / cpu64).toFixed(1)}x`)
  }
  summary(BENCH, `CPU of both sides per round trip, median of ${rounds} rounds of ${trips}: ${text.join('; ')}.`)
}
