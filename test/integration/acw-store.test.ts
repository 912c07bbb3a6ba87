// The ACW rows in SQLite: migration 7 adds the interface and pause reason an ACW
// paused with; rows written before it read back without them (the config's are used).
import t from 'tap'
import os from 'node:os'
import path from 'node:path'
import { mkdtempSync, rmSync } from 'node:fs'
import { apktMigrations } from '../../src/apkt/migrations.ts'
import { migrations } from '../../src/store/migrations.ts'
import { openStore } from '../../src/store/sqlite.ts'
import { openSqliteStore } from '../../src/store/sqlite/index.ts'

const ALL = [...migrations, ...apktMigrations]

t.test('migration 7 keeps the rows of an older store; new rows keep their interface and reason', async t => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pln123-acw-store-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const file = path.join(dir, 'cti.db')
  // The file as a version before migration 7 left it (the engine's own opener, with
  // the migrations of then), with a row that version wrote.
  const old = openStore(file, ALL.filter(m => m.version < 7))
  old.db.prepare(`INSERT INTO acw (agent_id, call_id, started_at, ends_at, state, seconds, updated_at)
    VALUES ('1001', 'c1', '2026-11-24T03:00:00.000Z', '2026-11-24T03:00:30.000Z', 'active', 30, '2026-11-24T03:00:00.000Z')`).run()
  old.close()

  const store = await openSqliteStore(file, ALL)
  t.teardown(async () => { await store.close() })
  t.ok(store.migrated.includes(7), 'migration 7 ran at this open')
  const byAgent = async (agentId: string): Promise<unknown> => (await store.acw.all()).find(e => e.agentId === agentId)
  t.same(await byAgent('1001'), { agentId: '1001', callId: 'c1', startedAt: '2026-11-24T03:00:00.000Z', endsAt: '2026-11-24T03:00:30.000Z', state: 'active', seconds: 30 }, 'the old row, without interface or reason')
  const e = { agentId: '1002', startedAt: '2026-11-24T03:00:00.000Z', endsAt: '2026-11-24T03:00:30.000Z', state: 'active' as const, seconds: 30, interface: 'PJSIP/1002', pauseReason: 'Wrapup' }
  await store.commit([{ kind: 'acw', entry: e }])
  t.same(await byAgent('1002'), e, 'interface and reason read back')
  await store.commit([{ kind: 'acw', entry: { ...e, state: 'ending' } }])
  t.same(await byAgent('1002'), { ...e, state: 'ending' }, 'and kept through an update')

  // And after a restart of the service (a new open of the same file).
  await store.close()
  const again = await openSqliteStore(file, ALL)
  t.teardown(async () => { if (again.open) await again.close() })
  t.same(again.migrated, [], 'nothing left to migrate')
  t.same((await again.acw.all()).find(x => x.agentId === '1002'), { ...e, state: 'ending' }, 'the row read back after reopening')
})
