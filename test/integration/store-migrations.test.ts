// Migrations at open: a store written by a newer version is refused with both versions
// named (the library, the CLI and the server process, which exits 1 before listening),
// and two processes opening the same new file at once both succeed, the schema applied
// once between them (BEGIN IMMEDIATE around reading the version and applying).
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import t from 'tap'
import YAML from 'yaml'
import { apktMigrations } from '../../src/apkt/migrations.ts'
import { main } from '../../src/cli/main.ts'
import { migrations } from '../../src/store/migrations.ts'
import { openSqliteStore } from '../../src/store/sqlite/index.ts'
import { baseRawConfig } from '../helpers/config.ts'
import { freePort } from '../pbx/sandbox.ts'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const ALL = [...migrations, ...apktMigrations]
const KNOWN = Math.max(...ALL.map(m => m.version))
const VERSIONS = ALL.map(m => m.version).sort((a, b) => a - b)

/** A store this version made, then touched by a "newer" one. */
async function newerStore (dir: string, how: 'migrations' | 'user_version'): Promise<string> {
  const file = path.join(dir, `${how}.db`)
  await (await openSqliteStore(file, ALL)).close()
  const db = new Database(file)
  if (how === 'migrations') db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(KNOWN + 3, 'from the future', new Date().toISOString())
  else db.pragma(`user_version = ${KNOWN + 3}`)
  db.close()
  return file
}

t.test('a store written by a newer version is refused, naming both versions', async t => {
  for (const how of ['migrations', 'user_version'] as const) {
    const file = await newerStore(t.testdir(), how)
    await t.rejects(openSqliteStore(file, ALL), { code: 'STORE_TOO_NEW', message: new RegExp(`schema version ${KNOWN + 3}.*up to ${KNOWN}`) }, how)
    // Nothing was changed by the refused open.
    const db = new Database(file, { readonly: true })
    t.equal((db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number }).v, how === 'migrations' ? KNOWN + 3 : KNOWN)
    db.close()
  }
})

t.test('the CLI refuses it too: exit 1 and the message', async t => {
  const file = await newerStore(t.testdir(), 'migrations')
  let err = ''
  const code = await main(['apkt', 'list'], { CTI_CONFIG: path.join(ROOT, 'config/default.yaml'), CTI_STORE_PATH: file }, { out: async () => {}, err: async s => { err += s } })
  t.equal(code, 1)
  t.match(err, new RegExp(`schema version ${KNOWN + 3}.*up to ${KNOWN}`))
})

t.test('the server process exits 1 before listening', async t => {
  const dir = t.testdir()
  const file = await newerStore(dir, 'user_version')
  const raw = baseRawConfig(await freePort())
  raw.http.port = await freePort()
  raw.store.path = file
  const cfg = path.join(dir, 'cti.yaml')
  const { writeFileSync } = await import('node:fs')
  writeFileSync(cfg, YAML.stringify(raw))
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { cwd: ROOT, env: { ...process.env, CTI_CONFIG: cfg }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr.on('data', (d: Buffer) => { out += d.toString() })
  // Still running after 30 s means it went on to listen: stop it and fail.
  const kill = setTimeout(() => child.kill('SIGKILL'), 30_000)
  const code = await new Promise<number | null>(resolve => child.once('exit', c => resolve(c)))
  clearTimeout(kill)
  t.equal(code, 1, out)
  t.match(out, new RegExp(`schema version ${KNOWN + 3}.*up to ${KNOWN}`))
  t.notMatch(out, /pln123-cti listening/)
})

interface Answer { file?: string, ok?: boolean, migrated?: number[], applied?: number[], error?: string, ready?: boolean }

function child (): { proc: ChildProcess, next: () => Promise<Answer> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/helpers/open-store-child.ts')], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const queue: Answer[] = []
  const waiting: Array<(a: Answer) => void> = []
  proc.on('message', (m: Answer) => { const w = waiting.shift(); if (w !== undefined) w(m); else queue.push(m) })
  return { proc, next: async () => queue.shift() ?? await new Promise<Answer>(resolve => waiting.push(resolve)) }
}

t.test('two processes opening the same new file at once: both succeed, each migration applied once', async t => {
  const a = child()
  const b = child()
  t.teardown(() => { a.proc.kill(); b.proc.kill() })
  await Promise.all([a.next(), b.next()]) // both ready: started, modules loaded
  const dir = t.testdir()
  for (let i = 0; i < 60; i++) {
    const file = path.join(dir, `new-${i}.db`)
    a.proc.send({ file })
    b.proc.send({ file })
    const [ra, rb] = await Promise.all([a.next(), b.next()])
    t.ok(ra.ok === true && rb.ok === true, `file ${i}: both opened (${ra.error ?? ''} ${rb.error ?? ''})`)
    t.strictSame(ra.applied, VERSIONS, `file ${i}: every migration recorded`)
    const ran = [...(ra.migrated ?? []), ...(rb.migrated ?? [])].sort((x, y) => x - y)
    t.strictSame(ran, VERSIONS, `file ${i}: each migration ran in exactly one of the two`)
  }
})
