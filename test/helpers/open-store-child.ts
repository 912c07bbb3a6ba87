// A separate process that opens store files when told to (IPC), so a test can make two
// processes open the same new file at the same instant: each child says it is ready,
// the test sends both the file name at once, each answers with the migrations it ran.
import Database from 'better-sqlite3'
import { apktMigrations } from '../../src/apkt/migrations.ts'
import { migrations } from '../../src/store/migrations.ts'
import { openSqliteStore } from '../../src/store/sqlite/index.ts'

process.on('message', (msg: { file: string }) => {
  void (async () => {
    // In-thread: the migrations and their lock are the same in either mode, and 60 files
    // with a worker start each cost the suite most of a minute.
    const store = await openSqliteStore(msg.file, [...migrations, ...apktMigrations], { mode: 'in-thread' })
    const migrated = store.migrated
    await store.close()
    // What the file records, read after the store is closed (the port has no such query).
    const db = new Database(msg.file, { readonly: true })
    const applied = (db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as Array<{ version: number }>).map(r => r.version)
    db.close()
    return { migrated, applied }
  })().then(({ migrated, applied }) => {
    process.send?.({ file: msg.file, ok: true, migrated, applied })
  }, (err: unknown) => {
    process.send?.({ file: msg.file, ok: false, error: `${(err as { code?: string }).code ?? ''} ${(err as Error).message} ${(err as Error).stack ?? ''}` })
  })
})
process.once('disconnect', () => process.exit(0))
process.send?.({ ready: true })
