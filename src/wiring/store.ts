// The store feature: the engine the config names (embedded SQLite by default, PostgreSQL
// for a group), opened and migrated with every feature's migrations; the journal every
// change goes through (src/store/journal.ts); the audit log; and what requests need to
// know of the store's health. What "healed" means is told later (repair.ts).
import type { Logger } from 'pino'
import type { Config } from '../config/schema.ts'
import type { AuditLog } from '../audit/log.ts'
import type { Durability } from '../calls/durable.ts'
import { apktMigrations } from '../apkt/migrations.ts'
import { JournaledAuditLog } from '../store/audit-records.ts'
import { Journal } from '../store/journal.ts'
import { migrations } from '../store/migrations.ts'
import type { Store } from '../store/port.ts'
import { openEngine, storeConfigOf, type StoreWait } from '../store/open.ts'
import { whyStoreUnavailable } from '../store/why.ts'

export interface StoreWiring {
  store: Store
  journal: Journal
  audit: AuditLog
  durability: Durability
  /** For /readyz: rejects while the store cannot take writes (an outage, or its own check). */
  check: () => Promise<void>
  /** What runs once the store takes writes again after an outage (set once, by repair.ts). */
  whenWritableAgain: (heal: () => Promise<void>) => void
}

/**
 * How long a request (the button, a consent, a CTI event) waits for its commit. A group
 * commit takes milliseconds; past this the store is as good as away for a caller on
 * the phone, who is better told 503 and to try again.
 */
const COMMIT_TIMEOUT_MS = 3000

/** `wait`: who hears of each failed try while a database unreachable at start is waited for, and the signal that ends the wait. */
export async function wireStore (config: Config, logger: Logger, wait: StoreWait = {}): Promise<StoreWiring> {
  const log = logger.child({ module: 'store' })
  const store = await openEngine(storeConfigOf(config.store), [...migrations, ...apktMigrations], log, { ...wait, waitForDatabase: true })
  const journal = new Journal({ store, log })
  let heal: () => Promise<void> = async () => {}
  // After an outage the changes kept aside are written (the journal); Asterisk may have
  // moved on meanwhile in ways no event told (a restart of ours in between), so the
  // picture is resynced too (test/faults/store-full.test.ts, store-readonly.test.ts).
  journal.on('recovered', () => {
    heal().catch((err: unknown) => { log.error({ err }, 'repair after the store outage failed') })
  })
  return {
    store,
    journal,
    audit: new JournaledAuditLog(journal, store.audit),
    durability: {
      ready: () => journal.healthy,
      why: err => whyStoreUnavailable(err ?? journal.outageError) ?? (err !== undefined ? 'it refused the change' : 'it is unavailable'),
      commitTimeoutMs: COMMIT_TIMEOUT_MS
    },
    // For /readyz (only ok or not) and GET /v1/status (supervisors: the driver's words too).
    async check () {
      if (!journal.healthy) {
        const err = journal.outageError as { message?: string } | undefined
        throw new Error(`unavailable (${whyStoreUnavailable(err) ?? 'it is unavailable'}: ${err?.message ?? 'no detail'}); ${journal.backlog} change(s) waiting to be written`)
      }
      await store.check()
    },
    whenWritableAgain: fn => { heal = fn }
  }
}
