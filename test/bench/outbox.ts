// Benchmark 4, the APKT outbox, on each store engine side by side in one run (embedded
// SQLite and a throwaway local PostgreSQL, fsync and synchronous_commit on; lib/engines.ts).
// (1) Durable record writes, each its own commit, one awaited at a time, every variant
//     alternating with the others, median of rounds; per engine:
//       bare-<e>     the engine's bare client with the same durability, one transaction
//                    per write: SQLite = better-sqlite3, WAL + synchronous FULL, a
//                    prepared INSERT (autocommit) into the same table (same DDL, same
//                    indexes); PostgreSQL = one `pg` Client, an INSERT per write
//                    (autocommit) into the table the engine's migrations made, in a
//                    fresh database; the record's JSON prepared beforehand
//       outbox-<e>   the real path: await outbox.add(record, key), the Outbox writing
//                    through the service's journal (src/wiring/apkt.ts) into the store
//                    port's engine (the real migrations)
//       outcome-<e>  what a transfer really commits (src/apkt/outcome-effect.ts): the
//                    record and the call's row, one journal batch, one transaction
//     Target (issue 13): outbox-<e> / bare-<e> >= 0.5 records/s, per engine.
// (2) Delivery: 5,000 pending records of 200 agents, the real Dispatcher (default
//     concurrency 4, and 16) claiming from each engine and posting to a local Fastify
//     receiver in another process, vs a bare undici loop POSTing the same bodies with
//     the same concurrency (no store), alternating in the same rounds (at most 5),
//     after one warm-up pass of every variant that is not counted.
//     Target (issue 13): dispatcher / bare undici >= 0.5, per engine (concurrency 4);
//     the former absolute target, >= 1,000 records/s, is printed beside it.
// (3) SQLite only: the outbox's counts (Outbox.stats(): the live feed reads them after
//     every outcome and delivery, metrics on every scrape) with a long history (100,000
//     records, 1 in 1,000 pending), vs the COUNT(*) ... GROUP BY it replaced, on the
//     same file in the same run. (Skipped when --engines leaves sqlite out.)
//   tsx test/bench/outbox.ts [--engines sqlite,postgres] [--rounds 5] [--records 2000] [--deliver 5000] [--history 100000]
//                            [--parts writes,delivery,counts]   (default all three; e.g. `--parts delivery` for (2) alone)
import os from 'node:os'
import path from 'node:path'
import { mkdtempSync, rmSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { Agent, request } from 'undici'
import { openStore } from '../../src/store/sqlite.ts'
import { openSqliteStore } from '../../src/store/sqlite/index.ts'
import { Journal } from '../../src/store/journal.ts'
import type { Store } from '../../src/store/port.ts'
import { openPostgresStore } from '../../src/store/postgres/index.ts'
import pg from 'pg'
import { migrations } from '../../src/store/migrations.ts'
import { apktMigrations } from '../../src/apkt/migrations.ts'
import { Outbox } from '../../src/apkt/outbox.ts'
import { Dispatcher } from '../../src/apkt/dispatcher.ts'
import { buildApktRecord, type ApktRecord } from '../../src/apkt/record.ts'
import type { Call } from '../../src/calls/types.ts'
import { silentLog } from '../../src/log.ts'
import { agentIds } from './lib/ami-stream.ts'
import { startTarget } from './lib/proc.ts'
import { figure, machineFigure, median, met, note, round, sleep, summary } from './lib/report.ts'
import { listArg, numArg } from './lib/args.ts'
import { enginesArg, Engines, type Engine } from './lib/engines.ts'

const BENCH = 'outbox'
const here = path.dirname(fileURLToPath(import.meta.url))
const rounds = numArg('rounds', 5)
const RECORDS = numArg('records', 2000)
const DELIVER = numArg('deliver', 5000)
const HISTORY = numArg('history', 100_000)
const AGENTS = agentIds(200)
const PARTS = listArg('parts') ?? new Set(['writes', 'delivery', 'counts'])
for (const p of PARTS) if (!['writes', 'delivery', 'counts'].includes(p)) throw new Error(`--parts: ${p}: choose from writes, delivery, counts`)

const root = mkdtempSync(path.join(os.tmpdir(), 'pln123-bench-outbox-'))
let seq = 0
const fresh = (name: string): string => path.join(root, `${name}-${++seq}.db`)
const ALL = [...migrations, ...apktMigrations]
const engines = enginesArg()
const stores = new Engines()

/** A fresh store on `engine`, with the real migrations; drop() after close(). */
async function openOn (engine: Engine, name: string): Promise<{ store: Store, url?: string, drop: () => Promise<void> }> {
  if (engine === 'sqlite') return { store: await openSqliteStore(fresh(name), ALL), drop: async () => {} }
  const db = await stores.database('postgres')
  const url = db.url as string
  return { store: await openPostgresStore({ url, poolSize: 10 }, ALL), url, drop: db.drop }
}

/** The Outbox as the service wires it: writes through a journal, claims as one instance. */
function serviceOutbox (store: Store): { outbox: Outbox, journal: Journal } {
  const journal = new Journal({ store, log: silentLog })
  return { journal, outbox: new Outbox({ queries: store.outbox, write: change => journal.add(change), owner: 'bench', leaseMs: 60_000 }) }
}

function makeRecords (n: number, tag: string): ApktRecord[] {
  const at = new Date()
  return Array.from({ length: n }, (_, i) => buildApktRecord({
    callId: `${tag}-${i}.0`,
    agentId: AGENTS[i % AGENTS.length] as string,
    topic: i % 2 === 0 ? 'activation' : 'coverage',
    apkt: { jenis: 'Informasi', tipeKeluhan: 'ICONNET', subTipeKeluhan: 'Aktivasi layanan', permasalahan: 'Pelanggan menanyakan aktivasi layanan ICONNET, diteruskan ke Contact Center ICONNET' },
    customer: { name: 'Budi Santoso', customerId: '5123456789' },
    unit: 'Distribusi Jakarta Raya',
    unitPelayanan: 'UP3 Tanjung Priok',
    at
  }))
}

// The outbox table as the migration creates it: the baseline pays the same index upkeep.
const APKT_DDL = (apktMigrations[0] as { sql: string }).sql

function bare (records: ApktRecord[]): number {
  const db = new Database(fresh('bare'))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.exec(APKT_DDL)
  const ins = db.prepare(`INSERT INTO apkt_records (id, outcome_key, agent_id, call_id, status, attempts, next_attempt_at, created_at, body)
    VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?)`)
  const now = new Date().toISOString()
  const rows = records.map(r => [r.id, `${r.callId}:transfer`, r.agentId, r.callId, now, now, JSON.stringify(r)] as const)
  const t0 = performance.now()
  for (const row of rows) ins.run(...row)
  const ms = performance.now() - t0
  db.close()
  return records.length / (ms / 1000)
}

async function barePostgres (records: ApktRecord[]): Promise<number> {
  // The engine's migrations make the table (same indexes and triggers), then it steps aside.
  const { store, url, drop } = await openOn('postgres', 'bare')
  await store.close()
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const now = new Date().toISOString()
  const rows = records.map(r => [r.id, `${r.callId}:transfer`, r.agentId, r.callId, now, JSON.stringify(r)])
  const t0 = performance.now()
  for (const row of rows) {
    await client.query(`INSERT INTO apkt_records (id, outcome_key, agent_id, call_id, status, attempts, next_attempt_at, created_at, body)
      VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5, $6)`, row)
  }
  const ms = performance.now() - t0
  await client.end()
  await drop()
  return records.length / (ms / 1000)
}

async function viaOutbox (engine: Engine, records: ApktRecord[], withCall: boolean): Promise<number> {
  const { store, drop } = await openOn(engine, withCall ? 'outcome' : 'outbox')
  const { outbox, journal } = serviceOutbox(store)
  const t0 = performance.now()
  for (const r of records) {
    if (withCall) {
      const call: Call = { callId: r.callId, state: 'transferred', agentId: r.agentId, offeredAt: r.createdAt, connectedAt: r.createdAt, source: 'ami', queue: 'pln123', customerChannel: `PJSIP/trunk-${r.callId}`, agentChannel: `PJSIP/${r.agentId}-${r.callId}`, callerIdNum: '081234567890', endReason: 'transferred to 3@direct-transfer', transfer: { status: 'completed', target: 3, at: r.createdAt }, apkt: { recordId: r.id, permasalahan: r.permasalahan } }
      await journal.batch(() => {
        void outbox.add(r, `${r.callId}:transfer`)
        void journal.add({ kind: 'call', call })
      }).saved
    } else {
      await outbox.add(r, `${r.callId}:transfer`)
    }
  }
  const ms = performance.now() - t0
  await journal.close()
  const written = (await store.outbox.stats(new Date())).pending
  await store.close()
  await drop()
  if (written !== records.length) throw new Error(`${written} of ${records.length} records written`)
  return records.length / (ms / 1000)
}

machineFigure(BENCH)

// (1) writes
const variants = engines.flatMap(e => [`bare-${e}`, `outbox-${e}`, `outcome-${e}`])
const writes = new Map<string, number[]>(variants.map(v => [v, []]))
try {
  for (let r = 0; r < (PARTS.has('writes') ? rounds : 0); r++) {
    const records = makeRecords(RECORDS, `w${r}`)
    const order = variants.map((_, i) => variants[(i + r) % variants.length] as string)
    const line: string[] = []
    for (const v of order) {
      const [kind, engine] = v.split('-') as [string, Engine]
      const rate = kind === 'bare' ? (engine === 'sqlite' ? bare(records) : await barePostgres(records)) : await viaOutbox(engine, records, kind === 'outcome')
      writes.get(v)?.push(rate)
      line.push(`${v} ${Math.round(rate)}/s`)
    }
    note(`writes round ${r + 1}/${rounds}: ${line.join(', ')}`)
  }
} catch (err) {
  await stores.close()
  throw err
}
const ratioTo = (v: string, base: string): number => median((writes.get(v) ?? []).map((x, i) => x / ((writes.get(base) ?? [])[i] ?? NaN)))
for (const v of PARTS.has('writes') ? variants : []) {
  const rs = writes.get(v) ?? []
  const engine = v.split('-')[1] as Engine
  figure({ bench: BENCH, engine, name: `writes_per_s.${v}`, value: median(rs), unit: 'records/s', runs: rs.map(Math.round), ratioToBare: round(ratioTo(v, `bare-${engine}`)), usPerRecord: round(1e6 / median(rs)) })
}
const writeRatio = new Map(engines.map(e => [e, ratioTo(`outbox-${e}`, `bare-${e}`)]))
for (const [engine, v] of PARTS.has('writes') ? writeRatio : []) figure({ bench: BENCH, engine, name: `ratio.outbox_over_bare.${engine}`, value: v, unit: 'ratio', target: 0.5, met: v >= 0.5 })

// (3) counts with a long history
async function countsCost (): Promise<{ statsMs: number, groupByMs: number }> {
  const file = fresh('history')
  // The history, written on a connection of its own (the triggers keep the counts).
  const raw = openStore(file, ALL)
  const ins = raw.db.prepare(`INSERT INTO apkt_records (id, outcome_key, agent_id, call_id, status, attempts, created_at, body) VALUES (?, ?, ?, ?, ?, 0, ?, '{}')`)
  const at = new Date().toISOString()
  raw.db.transaction(() => { for (let i = 0; i < HISTORY; i++) ins.run(`h-${i}`, `h-${i}:educate`, AGENTS[i % AGENTS.length], `h-${i}`, i % 1000 === 0 ? 'pending' : 'delivered', at) })()
  const groupBy = raw.db.prepare('SELECT status, COUNT(*) AS n FROM apkt_records GROUP BY status')
  const store = await openSqliteStore(file, ALL)
  const { outbox } = serviceOutbox(store)
  const time = async (f: () => unknown, n: number): Promise<number> => { for (let i = 0; i < 3; i++) await f(); const t0 = performance.now(); for (let i = 0; i < n; i++) await f(); return (performance.now() - t0) / n }
  const out = { statsMs: NaN, groupByMs: NaN }
  const a: number[] = []; const b: number[] = []
  for (let r = 0; r < rounds; r++) { a.push(await time(async () => await outbox.stats(), 200)); b.push(await time(() => groupBy.all(), 20)) }
  out.statsMs = median(a); out.groupByMs = median(b)
  const s = await outbox.stats()
  if (s.pending + s.delivered !== HISTORY) throw new Error(`counts ${JSON.stringify(s)} do not add up to ${HISTORY}`)
  await store.close()
  raw.close()
  return out
}
const counts = engines.includes('sqlite') && PARTS.has('counts') ? await countsCost() : { statsMs: NaN, groupByMs: NaN }
if (PARTS.has('counts')) figure({ bench: BENCH, engine: 'sqlite', name: 'stats_ms.long_history', value: counts.statsMs, unit: 'ms', records: HISTORY, baselineGroupByMs: round(counts.groupByMs), ratioBaselineOverThis: round(counts.groupByMs / counts.statsMs) })
if (PARTS.has('counts')) note(`counts with ${HISTORY} records: Outbox.stats() ${counts.statsMs.toFixed(3)} ms, COUNT(*) GROUP BY ${counts.groupByMs.toFixed(3)} ms`)

// (2) delivery
const receiver = await startTarget(path.join(here, 'lib', 'serve.ts'), ['apkt'])
const url = `${receiver.url}/apkt/records`
const count = async (reset = false): Promise<{ posts: number, unique: number }> => await (await fetch(`${receiver.url}/count${reset ? '?reset=1' : ''}`)).json() as { posts: number, unique: number }

async function deliverOutbox (engine: Engine, concurrency: number): Promise<{ rate: number, delivered: number, unique: number }> {
  const { store, drop } = await openOn(engine, 'deliver')
  const { outbox, journal } = serviceOutbox(store)
  const records = makeRecords(DELIVER, `d${++seq}`)
  const past = new Date(Date.now() - 1000)
  await journal.batch(() => { for (const r of records) void outbox.add(r, `${r.callId}:transfer`, past) }).saved
  await count(true)
  // The end is told by the dispatcher (a record settled), not by polling the store's
  // counts: a poll every 5 ms was a store call of its own beside the dispatcher's.
  let settled = 0
  let allSettled = (): void => {}
  const done = new Promise<void>(resolve => { allSettled = resolve })
  const dispatcher = new Dispatcher({ outbox, url, token: 'bench-apkt-token', timeoutMs: 5000, concurrency, onSettled: () => { if (++settled === DELIVER) allSettled() } })
  const t0 = performance.now()
  dispatcher.start()
  await Promise.race([done, sleep(120_000)])
  const ms = performance.now() - t0
  await dispatcher.stop()
  const stats = await outbox.stats()
  await journal.close()
  await store.close()
  await drop()
  const after = await count()
  return { rate: stats.delivered / (ms / 1000), delivered: stats.delivered, unique: after.unique }
}

async function deliverBare (concurrency: number): Promise<number> {
  const bodies = makeRecords(DELIVER, `b${++seq}`).map(r => ({ id: r.id, body: JSON.stringify(r) }))
  await count(true)
  const agent = new Agent({ connections: concurrency, keepAliveTimeout: 4000 })
  let next = 0
  const t0 = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < bodies.length) {
      const b = bodies[next++] as { id: string, body: string }
      const res = await request(url, { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json', authorization: 'Bearer bench-apkt-token', 'idempotency-key': b.id }, body: b.body })
      await res.body.dump()
      if (res.statusCode !== 201) throw new Error(`receiver answered ${res.statusCode}`)
    }
  }))
  const ms = performance.now() - t0
  await agent.close()
  return bodies.length / (ms / 1000)
}

const deliveryRounds = Math.max(1, Math.min(5, rounds))
const delivery = new Map<string, number[]>()
let lost = 0
/** Records of a dispatcher run not delivered, or delivered more than once. */
const lostIn = (d: { delivered: number, unique: number }): number => DELIVER - d.delivered + (d.delivered - d.unique)
const dVariants: Array<[string, number, Engine | undefined]> = [4, 16].flatMap(c => [[`bare-${c}`, c, undefined] as [string, number, Engine | undefined], ...engines.map(e => [`dispatcher-${e}-${c}`, c, e] as [string, number, Engine | undefined])])
try {
  // Warm-up, not counted: the receiver (a fresh process) and this one run their first
  // thousands of requests slower while V8 compiles; whichever variant came first in
  // round 1 was measured cold (a bare loop at 4,400/s there, 16,000-17,000/s after).
  if (PARTS.has('delivery')) {
    for (const [, c, engine] of dVariants) {
      if (engine === undefined) await deliverBare(c)
      else lost += lostIn(await deliverOutbox(engine, c))
    }
  }
  for (let r = 0; r < (PARTS.has('delivery') ? deliveryRounds : 0); r++) {
    const line: string[] = []
    const order = dVariants.map((_, i) => dVariants[(i + r) % dVariants.length] as [string, number, Engine | undefined])
    for (const [v, c, engine] of order) {
      let rate: number
      if (engine !== undefined) {
        const d = await deliverOutbox(engine, c)
        rate = d.rate
        lost += lostIn(d)
      } else {
        rate = await deliverBare(c)
      }
      delivery.set(v, [...(delivery.get(v) ?? []), rate])
      line.push(`${v} ${Math.round(rate)}/s`)
    }
    note(`delivery round ${r + 1}/${deliveryRounds}: ${line.join(', ')}`)
  }
} finally {
  await receiver.stop()
  await stores.close()
  rmSync(root, { recursive: true, force: true })
}
const dRatio = (e: Engine, c: number): number => median((delivery.get(`dispatcher-${e}-${c}`) ?? []).map((x, i) => x / ((delivery.get(`bare-${c}`) ?? [])[i] ?? NaN)))
for (const [v, rs] of delivery) {
  const parts = v.split('-')
  const engine = parts.length === 3 ? parts[1] as Engine : undefined
  figure({ bench: BENCH, ...(engine !== undefined ? { engine } : {}), name: `delivered_per_s.${v}`, value: median(rs), unit: 'records/s', runs: rs.map(Math.round), records: DELIVER, ...(engine !== undefined ? { ratioToBare: round(dRatio(engine, Number(parts[2]))) } : {}) })
}
figure({ bench: BENCH, name: 'delivery_lost_or_duplicated', value: lost, unit: 'records' })
const perEngine: string[] = []
for (const e of engines) {
  // Only the parts that ran (--parts): a part left out is not reported as a miss.
  const said: string[] = []
  if (PARTS.has('writes')) {
    const w = writeRatio.get(e) ?? NaN
    said.push(`durable writes, one commit each: bare client ${Math.round(median(writes.get(`bare-${e}`) ?? []))}/s, Outbox.add through the journal ${Math.round(median(writes.get(`outbox-${e}`) ?? []))}/s = ${w.toFixed(2)} of bare (target >= 0.5: ${met(w >= 0.5)}), with the call's row (a transfer's commit) ${Math.round(median(writes.get(`outcome-${e}`) ?? []))}/s = ${ratioTo(`outcome-${e}`, `bare-${e}`).toFixed(2)}`)
  }
  if (PARTS.has('delivery')) {
    const d4 = median(delivery.get(`dispatcher-${e}-4`) ?? [])
    const dr = dRatio(e, 4)
    figure({ bench: BENCH, engine: e, name: `ratio.delivery_over_bare_undici.${e}`, value: dr, unit: 'ratio', concurrency: 4, target: 0.5, met: dr >= 0.5 })
    figure({ bench: BENCH, engine: e, name: `target.delivery_rate.${e}`, value: d4, unit: 'records/s', target: 1000, met: d4 >= 1000 })
    said.push(`delivery of ${DELIVER} records: dispatcher concurrency 4 ${Math.round(d4)}/s = ${dr.toFixed(2)} of bare undici (target >= 0.5: ${met(dr >= 0.5)}; >= 1000/s: ${met(d4 >= 1000)}), concurrency 16 ${Math.round(median(delivery.get(`dispatcher-${e}-16`) ?? []))}/s = ${dRatio(e, 16).toFixed(2)}`)
  }
  perEngine.push(`[${e}] ${said.join('; ')}`)
}
summary(BENCH, [
  perEngine.join('. '),
  ...(PARTS.has('delivery') ? [`Bare undici loop: ${Math.round(median(delivery.get('bare-4') ?? []))}/s (4), ${Math.round(median(delivery.get('bare-16') ?? []))}/s (16); lost or duplicated: ${lost}`] : []),
  ...(PARTS.has('counts') && engines.includes('sqlite') ? [`SQLite counts with ${HISTORY} records: ${counts.statsMs.toFixed(3)} ms (COUNT(*) GROUP BY: ${counts.groupByMs.toFixed(2)} ms)`] : [])
].join('. '))
