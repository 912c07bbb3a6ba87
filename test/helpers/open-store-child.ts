// A separate process that opens store files when told to (IPC), so a test can make two
// processes open the same new file at the same instant: each child says it is ready,
// the test sends both the file name at once, each answers with the migrations it ran.
import { apktMigrations } from '../../src/apkt/migrations.ts'
import { migrations } from '../../src/store/migrations.ts'
import { openStore } from '../../src/store/sqlite.ts'

process.on('message', (msg: { file: string }) => {
  try {
    const store = openStore(msg.file, [...migrations, ...apktMigrations])
    const applied = (store.db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as Array<{ version: number }>).map(r => r.version)
    const migrated = store.migrated
    store.close()
    process.send?.({ file: msg.file, ok: true, migrated, applied })
  } catch (err) {
    process.send?.({ file: msg.file, ok: false, error: `${(err as { code?: string }).code ?? ''} ${(err as Error).message} ${(err as Error).stack ?? ''}` })
  }
})
process.once('disconnect', () => process.exit(0))
process.send?.({ ready: true })
