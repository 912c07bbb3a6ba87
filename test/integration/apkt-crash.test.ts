// The service as a real process, SIGKILLed while records are pending and in flight:
// after a restart every record reaches the receiver, which (deduplicating by
// Idempotency-Key) holds each exactly once. Nothing is stranded by the crash.
import { spawn, type ChildProcess } from 'node:child_process'
import { hostname } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { waitFor } from '../helpers/ami.ts'
import { fillOutbox, openApktFile, openApktStore, openOutbox, Receiver, RECEIVER_TOKEN } from '../helpers/apkt.ts'
import { freePort } from '../pbx/sandbox.ts'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const SUPERVISOR = 'test-crash-supervisor-token'

interface Proc { child: ChildProcess, output: () => string, address: Promise<string>, exited: Promise<number | null> }

function startService (env: NodeJS.ProcessEnv): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
  const address = new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const m = /"address":"(http:\/\/[^"]+)"[^\n]*"msg":"pln123-cti listening"/.exec(out)
      if (m?.[1] !== undefined) resolve(m[1])
    })
    child.stderr?.on('data', (chunk: Buffer) => { out += chunk.toString() })
    void exited.then(code => reject(new Error(`service exited (${code}) before listening:\n${out.slice(-3000)}`)))
  })
  address.catch(() => undefined) // observed by the test's await; not an unhandled rejection meanwhile
  return { child, output: () => out, address, exited }
}

async function pendingVia (address: string): Promise<number> {
  const res = await fetch(`${address}/v1/apkt/records?status=pending&limit=1`, { headers: { authorization: `Bearer ${SUPERVISOR}` } })
  if (res.status !== 200) throw new Error(`GET /v1/apkt/records: ${res.status} ${await res.text()}`)
  return ((await res.json()) as { stats: { pending: number } }).stats.pending
}

t.test('SIGKILL with records pending and in flight: after restart each is held exactly once', async t => {
  const receiver = await Receiver.start(() => ({ status: 201, delayMs: 40 }))
  t.teardown(() => receiver.stop())
  const dbFile = path.join(t.testdir(), 'cti.db')

  // The outbox as a previous run left it: 150 records, 5 agents.
  const pre = await openApktStore(dbFile)
  const ids = await fillOutbox(openOutbox(pre), ['1001', '1002', '1003', '1004', '1005'], 30)
  await pre.close()
  const all = [...ids.values()].flat()

  const env = {
    CTI_STORE_PATH: dbFile,
    CTI_HTTP_PORT: '0',
    CTI_AMI_PORT: String(await freePort()), // nothing listens there: AMI is not needed for delivery
    CTI_APKT_URL: receiver.url,
    CTI_APKT_TOKEN: RECEIVER_TOKEN,
    CTI_APKT_TIMEOUT_MS: '2000',
    CTI_APKT_DISPATCHER_CONCURRENCY: '4',
    CTI_APKT_DISPATCHER_POLL_MS: '50',
    CTI_APKT_DISPATCHER_BACKOFF_INITIAL_MS: '20',
    CTI_APKT_DISPATCHER_BACKOFF_MAX_MS: '200',
    CTI_AUTH_TOKENS: JSON.stringify([{ token: SUPERVISOR, role: 'supervisor' }]),
    CTI_LOG_LEVEL: 'info'
  }

  const first = startService(env)
  t.teardown(() => { first.child.kill('SIGKILL') })
  await first.address
  await waitFor('some deliveries, and some in flight', () => receiver.accepted.size >= 30 && receiver.inflight >= 1, 15_000)
  const inFlightAtKill = [...receiver.inflightKeys]
  first.child.kill('SIGKILL')
  t.equal(await first.exited, null, 'killed by the signal, no clean shutdown')
  t.ok(inFlightAtKill.length >= 1, `${inFlightAtKill.length} request(s) in flight at the kill`)
  await waitFor('the receiver to finish the orphaned requests', () => receiver.inflight === 0)

  const between = await openApktStore(dbFile)
  const outbox = openOutbox(between)
  const left = (await outbox.stats()).pending
  t.ok(left > 0 && left < all.length, `the kill left ${left} of ${all.length} pending`)
  for (const id of inFlightAtKill) t.equal((await outbox.get(id))?.status, 'pending', `in flight at the kill -> still pending (${id})`)
  await between.close()
  // Claims are durable: the killed run's are still in the rows, leased for 30 s (src/wiring/apkt.ts,
  // max(30 s, 3 x timeout)). The restart below must drop them itself (its instance id is the
  // host name) for the receiver to get every record within the 20 s it is given.
  const raw = openApktFile(dbFile)
  for (const id of inFlightAtKill) {
    t.match(raw.db.prepare('SELECT claimed_by, claimed_until FROM apkt_records WHERE id = ?').get(id), { claimed_by: hostname(), claimed_until: String }, `in flight at the kill -> still claimed by the dead run (${id})`)
  }
  raw.close()

  const second = startService(env)
  t.teardown(async () => { if (second.child.exitCode === null) { second.child.kill('SIGKILL'); await second.exited } })
  const address = await second.address
  await waitFor('the receiver to hold every record', () => receiver.accepted.size === all.length, 20_000).catch(async (err: Error) => {
    // Say what was left and what the service logged, not just that time ran out.
    const missing = all.filter(id => !receiver.accepted.has(id))
    throw new Error(`${err.message}: ${missing.length} missing (receiver: ${receiver.received.length} requests, ${receiver.inflight} in flight); service log tail:\n${second.output().slice(-4000)}`)
  })
  t.equal(await pendingVia(address), 0, 'the restarted service reports nothing pending')
  second.child.kill('SIGTERM')
  t.equal(await second.exited, 0, 'clean shutdown after SIGTERM')

  t.equal(receiver.accepted.size, all.length, 'each record held exactly once after deduplication')
  t.strictSame([...receiver.accepted.keys()].sort(), [...all].sort())
  for (const id of inFlightAtKill) t.ok(receiver.countFor(id) >= 2, `${id}: sent again after the restart`)
  t.ok(receiver.duplicates >= inFlightAtKill.length, `duplicates absorbed by the key: ${receiver.duplicates}`)
  for (const [agent, list] of ids) t.strictSame(receiver.orderFor(agent), list, `agent ${agent} in creation order across the crash`)

  const after = await openApktStore(dbFile)
  t.teardown(() => after.close())
  t.match(await openOutbox(after).stats(), { pending: 0, delivered: all.length, dead: 0 })
  t.notMatch(first.output() + second.output(), RECEIVER_TOKEN, 'the APKT token never appears in the logs')
})
