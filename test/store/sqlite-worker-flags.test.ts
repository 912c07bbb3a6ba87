// The SQLite engine's worker thread under the flags an operator may start Node with: V8's
// per-process flags (--max-old-space-size, --expose-gc) are refused by a Worker, so the
// engine must not pass them on, or a service started with them would not start.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

t.test('sqlite: the worker store opens in a process started with V8 flags', async t => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pln123-flags-'))
  const script = `
    const { openSqliteStore } = await import(${JSON.stringify(path.join(root, 'src/store/sqlite/index.ts'))})
    const { migrations } = await import(${JSON.stringify(path.join(root, 'src/store/migrations.ts'))})
    const { apktMigrations } = await import(${JSON.stringify(path.join(root, 'src/apkt/migrations.ts'))})
    const s = await openSqliteStore(${JSON.stringify(path.join(dir, 'cti.db'))}, [...migrations, ...apktMigrations], { mode: 'worker' })
    await s.commit([{ kind: 'audit', entry: { actor: 'op', role: 'system', action: 'flags', target: 'x' }, at: new Date().toISOString() }])
    console.log(JSON.stringify(await s.audit.list()))
    await s.close()`
  const run = spawnSync(process.execPath, ['--max-old-space-size=256', '--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 60_000 })
  t.equal(run.status, 0, `exit 0 (stderr: ${run.stderr.slice(0, 400)})`)
  t.match(run.stdout, /"action":"flags"/, 'the commit went through the worker')
})
