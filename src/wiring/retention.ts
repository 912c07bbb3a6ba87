// Retention: deletes what is older than retention.days, in small batches (CONTRACT.md
// section 9), through the store's retention queries.
import type { Logger } from 'pino'
import type { Config } from '../config/schema.ts'
import type { Store } from '../store/port.ts'
import { Retention } from '../retention/purger.ts'

export function wireRetention (config: Config, logger: Logger, store: Store): Retention {
  return new Retention({ store: store.retention, ...config.retention, log: logger.child({ module: 'retention' }) })
}
