// The store feature: the database opened and migrated (every feature's migrations), the
// audit log, and the guard that keeps the service running while the store cannot take
// a write. What "healed" means is told later (repair.ts): the features that repair
// themselves are built after the guard, which they need.
import type { Logger } from 'pino'
import type { Config } from '../config/schema.ts'
import { openStore, type Store } from '../store/sqlite.ts'
import { isStoreUnavailable } from '../store/errors.ts'
import { migrations } from '../store/migrations.ts'
import { apktMigrations } from '../apkt/migrations.ts'
import { SqliteAuditLog } from '../store/audit-repository.ts'
import { StoreGuard } from '../calls/store-guard.ts'

export interface StoreWiring {
  store: Store
  audit: SqliteAuditLog
  guard: StoreGuard
  /** What the guard runs once the store takes writes again (set once, by repair.ts). */
  whenWritableAgain: (heal: () => Promise<void>) => void
}

export function wireStore (config: Config, logger: Logger): StoreWiring {
  const store = openStore(config.store.path, [...migrations, ...apktMigrations])
  let heal: () => Promise<void> = async () => {}
  // Store unwritable (disk full, read-only): AMI events and ACW steps that cannot be
  // recorded must not crash the process; the guard logs once and, when the store takes
  // writes again, heals (test/faults/store-unwritable.test.ts).
  const guard = new StoreGuard({
    check: () => { store.check() },
    isUnavailable: isStoreUnavailable,
    heal: async () => { await heal() },
    log: logger.child({ module: 'store' })
  })
  return { store, audit: new SqliteAuditLog(store.db), guard, whenWritableAgain: fn => { heal = fn } }
}
