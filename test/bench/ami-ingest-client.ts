// One measured AMI consumer, in its own process (a clean heap and JIT per run; the
// stream server runs in the parent on the other core). Prints one JSON line.
//   tsx test/bench/ami-ingest-client.ts <variant> <port> <events>
// variants:
//   bare           asterisk-manager alone, counting 'managerevent's (the baseline)
//   service-mem    the service's AmiClient + CallTracker, calls in MemoryCallRepository
//   service-sqlite the same with the durable store as the service wires it
//                  (src/wiring/store.ts, calls.ts): openEngine + Journal +
//                  JournaledCallRepository, on a SQLite file (the worker-thread engine,
//                  WAL, synchronous FULL, group commit)
//   service-postgres the same on PostgreSQL (CTI_STORE_URL in the environment)
//   raw            a socket that only splits on blank lines (the physical ceiling)
// The durable variants stop the clock once the last event is in AND the journal has
// committed every change handed in so far (journal.flushed()): durable, not queued.
// Their CPU figure is this process's only; PostgreSQL's server processes work too (not
// counted here), SQLite's worker thread is in this process (counted).
// The service variants log at info level, as the service does by default, to /dev/null.
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { mkdtempSync, rmSync } from 'node:fs'
import pino from 'pino'
import AsteriskManager from 'asterisk-manager'
import { AmiClient } from '../../src/ami/index.ts'
import { CallTracker } from '../../src/calls/tracker.ts'
import { MemoryCallRepository, type CallRepository } from '../../src/calls/repository.ts'
import { JournaledCallRepository } from '../../src/store/call-records.ts'
import { Journal } from '../../src/store/journal.ts'
import { openEngine, type StoreConfig } from '../../src/store/open.ts'
import { migrations } from '../../src/store/migrations.ts'
import { apktMigrations } from '../../src/apkt/migrations.ts'
import { redactPaths } from '../../src/log.ts'
import { agentIds, memberInterface } from './lib/ami-stream.ts'

const [variant = 'bare', portArg = '0', eventsArg = '0', agentsArg = '20'] = process.argv.slice(2)
const port = Number(portArg)
const expected = Number(eventsArg)
const agents = Number(agentsArg)

let count = 0
let t0 = 0
let cpu0 = process.cpuUsage()
const cleanup: Array<() => void | Promise<void>> = []

/** Resolves once what the consumer was handed is where it promises it is (durable variants: committed). */
let settled = async (): Promise<void> => {}

function tick (): void {
  if (count === 0) { t0 = performance.now(); cpu0 = process.cpuUsage() }
  if (++count === expected) void settled().then(finish, (err: unknown) => { process.stderr.write(`${variant}: ${String(err)}\n`); process.exit(1) })
}

async function finish (): Promise<void> {
  const ms = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  const out = { variant, events: count, ms, eventsPerSec: (count - 1) / (ms / 1000), cpuMs: (cpu.user + cpu.system) / 1000, rssBytes: process.memoryUsage().rss, ...extra() }
  process.stdout.write(`${JSON.stringify(out)}\n`)
  for (const c of cleanup) { try { await c() } catch {} }
  process.exit(0)
}

let extra = (): Record<string, unknown> => ({})

if (variant === 'bare') {
  const mgr = AsteriskManager(port, '127.0.0.1', 'cti', 'secret', true)
  mgr.on('managerevent', () => tick())
} else if (variant === 'raw') {
  const sock = net.connect(port, '127.0.0.1')
  sock.setEncoding('utf8')
  let buf = ''
  let greeted = false
  sock.on('data', (d: string) => {
    buf += d
    if (!greeted) {
      const i = buf.indexOf('\r\n')
      if (i < 0) return
      buf = buf.slice(i + 2)
      greeted = true
      sock.write('Action: Login\r\nUsername: cti\r\nSecret: secret\r\nEvents: on\r\nActionID: 1\r\n\r\n')
    }
    let from = 0
    let idx: number
    while ((idx = buf.indexOf('\r\n\r\n', from)) >= 0) {
      if (!buf.startsWith('Response:', from)) tick()
      from = idx + 4
    }
    buf = buf.slice(from)
  })
} else if (variant === 'service-mem' || variant === 'service-sqlite' || variant === 'service-postgres') {
  const logger = pino({ level: 'info', redact: { paths: redactPaths, censor: '[redacted]' } }, pino.destination({ dest: '/dev/null', sync: true }))
  let repo: CallRepository
  if (variant === 'service-mem') {
    repo = new MemoryCallRepository()
  } else {
    let config: StoreConfig
    if (variant === 'service-sqlite') {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'pln123-bench-ingest-'))
      cleanup.push(() => { rmSync(dir, { recursive: true, force: true }) })
      config = { kind: 'sqlite', path: path.join(dir, 'cti.db') }
    } else {
      const url = process.env.CTI_STORE_URL
      if (url === undefined) throw new Error('service-postgres: CTI_STORE_URL is not set')
      config = { kind: 'postgres', url, poolSize: 10 }
    }
    const log = logger.child({ module: 'store' })
    const store = await openEngine(config, [...migrations, ...apktMigrations], log)
    const journal = new Journal({ store, log })
    repo = new JournaledCallRepository(journal, store.calls)
    settled = async () => { await journal.flushed() }
    // Closed before its temp dir goes (cleanups run in order).
    cleanup.unshift(async () => { await journal.close(); await store.close() })
  }
  const tracker = new CallTracker(agentIds(agents).map(id => ({ id, interface: memberInterface(id), queues: ['pln123'] })), repo, logger.child({ module: 'calls' }))
  const ami = new AmiClient({
    host: '127.0.0.1', port, username: 'cti', secret: 'secret', events: 'on',
    actionTimeoutMs: 5000, connectTimeoutMs: 5000, pingIntervalMs: 600_000,
    reconnect: { initialMs: 500, maxMs: 5000 }, logger: logger.child({ module: 'ami' })
  })
  // Wired as src/wiring/calls.ts wires them.
  ami.on('event', ev => tracker.onAmi(ev))
  ami.on('event', () => tick())
  let changes = 0
  tracker.on('call', () => { changes++ })
  extra = () => ({ callChanges: changes, liveCalls: tracker.liveCalls().length })
  ami.start()
} else {
  process.stderr.write(`unknown variant ${variant}\n`)
  process.exit(2)
}

setTimeout(() => {
  process.stderr.write(`${variant}: only ${count} of ${expected} events after 120 s\n`)
  process.exit(1)
}, 120_000).unref()
