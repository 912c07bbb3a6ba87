// The ACW rows in SQLite: migration 7 adds the interface and pause reason an ACW
// paused with; rows written before it read back without them (the config's are used).
import t from 'tap'
import os from 'node:os'
import path from 'node:path'
import { mkdtempSync } from 'node:fs'
import { openStore } from '../../src/store/sqlite.ts'
import { migrations } from '../../src/store/migrations.ts'
import { SqliteAcwRepository } from '../../src/store/acw-repository.ts'

t.test('migration 7 keeps the rows of an older store; new rows keep their interface and reason', async t => {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'pln123-acw-store-')), 'cti.db')
  const old = openStore(file, migrations.filter(m => m.version < 7))
  old.db.prepare(`INSERT INTO acw (agent_id, call_id, started_at, ends_at, state, seconds, updated_at)
    VALUES ('1001', 'c1', '2026-11-24T03:00:00.000Z', '2026-11-24T03:00:30.000Z', 'active', 30, '2026-11-24T03:00:00.000Z')`).run()
  old.close()

  const store = openStore(file)
  t.teardown(() => { store.close() })
  const repo = new SqliteAcwRepository(store.db)
  t.same(repo.get('1001'), { agentId: '1001', callId: 'c1', startedAt: '2026-11-24T03:00:00.000Z', endsAt: '2026-11-24T03:00:30.000Z', state: 'active', seconds: 30 }, 'the old row, without interface or reason')
  const e = { agentId: '1002', startedAt: '2026-11-24T03:00:00.000Z', endsAt: '2026-11-24T03:00:30.000Z', state: 'active' as const, seconds: 30, interface: 'PJSIP/1002', pauseReason: 'Wrapup' }
  repo.save(e)
  t.same(repo.get('1002'), e, 'interface and reason read back')
  repo.save({ ...e, state: 'ending' })
  t.same(repo.get('1002'), { ...e, state: 'ending' }, 'and kept through an update')
})
