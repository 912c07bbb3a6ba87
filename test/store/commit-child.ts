// A process that commits outcomes to a store as fast as it can (20 in flight, so they
// group) and announces each one on stdout only once its commit resolved, until it is
// killed. sqlite-engine.test.ts kills it with SIGKILL and checks that every announced
// outcome is in the file, whole: saved before announced.
//   node --import tsx test/store/commit-child.ts <file> <in-thread|worker>
import { apktMigrations } from '../../src/apkt/migrations.ts'
import { migrations } from '../../src/store/migrations.ts'
import { openSqliteStore, type SqliteMode } from '../../src/store/sqlite/index.ts'

const [file, mode] = process.argv.slice(2) as [string, SqliteMode]
const store = await openSqliteStore(file, [...migrations, ...apktMigrations], { mode })
const at = new Date().toISOString()
let next = 0
const one = async (): Promise<void> => {
  for (;;) {
    const i = next++
    const callId = `c${i}`
    await store.commit([
      { kind: 'call', call: { callId, state: 'ended', agentId: '1001', offeredAt: at, endedAt: at, source: 'ami' } },
      { kind: 'acw', entry: { agentId: `a${i % 50}`, callId, startedAt: at, state: 'active', seconds: 30 } },
      { kind: 'audit', entry: { actor: '1001', role: 'agent', action: 'x', target: callId }, at }
    ])
    process.stdout.write(`saved ${i}\n`) // stdout to a pipe is synchronous on Linux: out before the next await
  }
}
process.stdout.write('ready\n')
await Promise.all(Array.from({ length: 20 }, one))
