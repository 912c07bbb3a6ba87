// The SQLite engine's own behaviour, beside the contract (sqlite.test.ts): the schema
// guard at open, claims stored in the row, group commit really grouping, and a batch
// the disk cannot take failing alone. Each in both modes (in-thread, worker).
import os from 'node:os'
import path from 'node:path'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import t from 'tap'
import { apktMigrations } from '../../src/apkt/migrations.ts'
import { OutboxError } from '../../src/apkt/errors.ts'
import { buildApktRecord } from '../../src/apkt/record.ts'
import type { Call } from '../../src/calls/types.ts'
import { migrations } from '../../src/store/migrations.ts'
import { openStore } from '../../src/store/sqlite.ts'
import { openSqliteStore, type SqliteMode } from '../../src/store/sqlite/index.ts'
import type { Change } from '../../src/store/port.ts'

const ALL = [...migrations, ...apktMigrations]
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const KNOWN = Math.max(...ALL.map(m => m.version))
const dir = mkdtempSync(path.join(os.tmpdir(), 'pln123-sqlite-engine-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const fresh = (): string => path.join(dir, `s-${++n}.db`)
const NOW = new Date('2026-11-24T03:00:00.000Z')
const call = (callId: string, extra: Partial<Call> = {}): Call => ({ callId, state: 'connected', agentId: '1001', offeredAt: NOW.toISOString(), source: 'ami', ...extra })
const record = (callId: string, agentId = '1001') => buildApktRecord({
  callId, agentId, topic: 'activation', apkt: { jenis: 'KELUHAN', tipeKeluhan: 'INFORMASI', subTipeKeluhan: 'UMUM', permasalahan: 'X' },
  customer: { name: 'Budi' }, unit: 'U', unitPelayanan: 'UP', at: NOW
})

for (const mode of ['in-thread', 'worker'] as SqliteMode[]) {
  const open = async (file: string, opts: { pragmas?: string[] } = {}) => await openSqliteStore(file, ALL, { mode, ...opts })

  t.test(`sqlite/${mode}: a store written by a newer version is refused and left as it was`, async t => {
    const file = fresh()
    openStore(file, ALL).close()
    const raw = new Database(file)
    raw.pragma(`user_version = ${KNOWN + 2}`)
    raw.close()
    const err = await open(file).then(() => undefined, (e: unknown) => e)
    t.match(err, { name: 'StoreVersionError', code: 'STORE_TOO_NEW', message: new RegExp(`schema version ${KNOWN + 2}.*up to ${KNOWN}`) })
    const check = new Database(file, { readonly: true })
    t.equal(check.pragma('user_version', { simple: true }), KNOWN + 2)
    check.close()
  })

  t.test(`sqlite/${mode}: a new file is migrated once, in WAL mode`, async t => {
    const file = fresh()
    const store = await open(file)
    t.strictSame(store.migrated, ALL.map(m => m.version).sort((a, b) => a - b))
    await store.close()
    const again = await open(file)
    t.strictSame(again.migrated, [])
    await again.close()
    const raw = new Database(file, { readonly: true })
    t.equal(raw.pragma('journal_mode', { simple: true }), 'wal')
    raw.close()
  })

  t.test(`sqlite/${mode}: claims are stored in the row (migration 10) and survive a restart until their lease ends`, async t => {
    const file = fresh()
    const store = await open(file)
    await store.commit([{ kind: 'apktRecord', record: record('c1'), outcomeKey: 'c1:transfer', at: NOW.toISOString() }])
    const [e] = await store.outbox.claimDue({ now: NOW, limit: 5, owner: 'node-a', leaseMs: 30_000 })
    t.ok(e !== undefined)
    await store.close() // node-a dies mid-delivery
    const raw = new Database(file, { readonly: true })
    t.strictSame(raw.prepare('SELECT claimed_by, claimed_until FROM apkt_records').get(), { claimed_by: 'node-a', claimed_until: new Date(NOW.getTime() + 30_000).toISOString() })
    raw.close()
    const next = await open(file)
    t.teardown(async () => { await next.close() })
    t.strictSame(await next.outbox.claimDue({ now: new Date(NOW.getTime() + 1000), limit: 5, owner: 'node-b', leaseMs: 30_000 }), [], 'held while the lease runs')
    await next.outbox.releaseAll() // node-b starts delivering: what the dead node-a left is given back
    t.equal((await next.outbox.claimDue({ now: new Date(NOW.getTime() + 1000), limit: 5, owner: 'node-b', leaseMs: 30_000 }))[0]?.id, e?.id)
    await next.outbox.markDelivered(e?.id ?? '', NOW)
    const after = new Database(file, { readonly: true })
    t.strictSame(after.prepare('SELECT status, claimed_by, claimed_until FROM apkt_records').get(), { status: 'delivered', claimed_by: null, claimed_until: null }, 'settling clears the claim')
    after.close()
    const err = await next.outbox.retry('nope', NOW).then(() => undefined, (x: unknown) => x)
    t.ok(err instanceof OutboxError, 'an OutboxError, whichever thread threw it')
  })

  t.test(`sqlite/${mode}: commits handed in together share a transaction (group commit)`, async t => {
    // Each transaction appends its pages to the WAL: 200 commits one by one write
    // every page 200 times, 200 commits in one group about once.
    const batch = (i: number): Change[] => [{ kind: 'call', call: call(`c${i}`) }, { kind: 'audit', entry: { actor: 'a', role: 'agent', action: 'x', target: `t${i}` }, at: NOW.toISOString() }]
    const walOf = async (together: boolean): Promise<number> => {
      const file = fresh()
      const store = await open(file)
      const base = statSync(`${file}-wal`).size
      if (together) await Promise.all(Array.from({ length: 200 }, async (_, i) => { await store.commit(batch(i)) }))
      else for (let i = 0; i < 200; i++) await store.commit(batch(i))
      const size = statSync(`${file}-wal`).size - base
      t.equal((await store.audit.list({ limit: 1000 })).length, 200)
      await store.close()
      return size
    }
    const apart = await walOf(false)
    const together = await walOf(true)
    t.ok(together * 10 < apart, `WAL growth: ${together} bytes together, ${apart} apart`)
  })

  t.test(`sqlite/${mode}: a batch the disk cannot take fails alone; the others in its group commit`, async t => {
    const file = fresh()
    // Room for the small batches, not for the big one: a disk about to fill up.
    const store = await open(file, { pragmas: ['max_page_count = 120'] })
    t.teardown(async () => { await store.close() })
    const big: Change[] = Array.from({ length: 400 }, (_, i) => ({ kind: 'call', call: call(`big-${i}`, { callerIdName: 'x'.repeat(2000) }) }))
    const results = await Promise.allSettled([
      store.commit([{ kind: 'call', call: call('small-1') }]),
      store.commit(big),
      store.commit([{ kind: 'call', call: call('small-2') }])
    ])
    t.strictSame(results.map(r => r.status), ['fulfilled', 'rejected', 'fulfilled'])
    const err = (results[1] as PromiseRejectedResult).reason as unknown
    t.match(err, { code: 'SQLITE_FULL' })
    t.equal(store.isUnavailable(err), true, 'recognised as "cannot take this now"')
    t.ok(await store.calls.get('small-1'))
    t.ok(await store.calls.get('small-2'))
    t.equal(await store.calls.get('big-0'), undefined, 'nothing of the big batch')
    await t.resolves(store.check(), 'the store still takes small writes')
  })

  t.test(`sqlite/${mode}: while another process holds the write lock, commits fail as unavailable, then go on`, async t => {
    const file = fresh()
    const store = await open(file, { pragmas: ['busy_timeout = 100'] })
    t.teardown(async () => { await store.close() })
    const cli = new Database(file)
    cli.pragma('busy_timeout = 100')
    cli.prepare('BEGIN IMMEDIATE').run() // e.g. the CLI mid-transaction
    const results = await Promise.allSettled([1, 2, 3].map(async i => { await store.commit([{ kind: 'call', call: call(`c${i}`) }]) }))
    t.strictSame(results.map(r => r.status), ['rejected', 'rejected', 'rejected'])
    const err = (results[0] as PromiseRejectedResult).reason as unknown
    t.match(err, { code: /^SQLITE_BUSY/ })
    t.equal(store.isUnavailable(err), true)
    cli.prepare('COMMIT').run()
    cli.close()
    await store.commit([{ kind: 'call', call: call('after') }])
    t.ok(await store.calls.get('after'))
    t.equal(await store.calls.get('c1'), undefined)
  })

  t.test(`sqlite/${mode}: saved before announced: a process killed mid-stream lost nothing it announced`, async t => {
    const file = fresh()
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/store/commit-child.ts'), file, mode], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
    const announced = new Set<number>()
    let buf = ''
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString()
        let k: number
        while ((k = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, k)
          buf = buf.slice(k + 1)
          const m = /^saved (\d+)$/.exec(line)
          if (m !== null) announced.add(Number(m[1]))
        }
        if (announced.size >= 400) { child.kill('SIGKILL'); resolve() }
      })
      child.once('exit', code => { reject(new Error(`child exited (${code}) after ${announced.size} commits`)) })
    })
    await new Promise(resolve => { if (child.exitCode !== null || child.signalCode !== null) resolve(undefined); else child.once('exit', resolve) })
    const db = openStore(file, ALL)
    const calls = new Set((db.db.prepare('SELECT call_id AS id FROM calls').all() as Array<{ id: string }>).map(r => r.id))
    const audits = new Set((db.db.prepare('SELECT target AS id FROM audit').all() as Array<{ id: string }>).map(r => r.id))
    db.close()
    const missing = [...announced].filter(i => !calls.has(`c${i}`) || !audits.has(`c${i}`))
    t.strictSame(missing, [], `every announced outcome is saved (${announced.size} announced, ${calls.size} saved)`)
    t.strictSame([...calls].filter(c => !audits.has(c)), [], 'no call without its audit entry: each batch whole or not at all')
    t.equal(calls.size, audits.size)
  })
}
