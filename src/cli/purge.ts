// `pln123-cti purge [--dry-run]`: retention's pass now, on the same store file the
// service uses, with the same rules and batches (CONTRACT.md section 9). Safe beside a
// running service: each batch is one short transaction, with the configured pause
// between batches. --dry-run counts what would go and deletes nothing.
import { parseArgs } from 'node:util'
import type { Config } from '../config/schema.ts'
import { silentLog } from '../log.ts'
import { retentionTables } from '../retention/policy.ts'
import { Retention, type PassReport } from '../retention/purger.ts'
import { UsageError, type Io } from './io.ts'
import { openCliStore } from './store.ts'
import { storeConfigOf } from '../store/open.ts'

export const purgeUsage = `  pln123-cti purge [--dry-run]                                         delete what retention.days says is old now
                                                                       (--dry-run: count it, delete nothing)`

export async function purgeCommand (args: string[], config: Config, io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { 'dry-run': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true })
  if (values.help === true) { await io.out(`usage:\n${purgeUsage}\n`); return 0 }
  if (positionals.length > 0) throw new UsageError(`purge takes no arguments (got ${positionals.join(' ')})`)
  const store = await openCliStore(storeConfigOf(config.store))
  try {
    const retention = new Retention({ store: store.retention, ...config.retention, log: silentLog })
    const dryRun = values['dry-run'] === true
    const report = dryRun ? await retention.dryRun() : await retention.runPass()
    await io.out(render(report))
    return 0
  } finally {
    await store.close()
  }
}

const LABELS = { calls: 'calls', audit: 'audit', apktDelivered: 'apkt_delivered', reports: 'reports' } as const

function render (r: PassReport): string {
  const verb = r.dryRun ? 'would delete' : 'deleted'
  const head = `# retention ${r.days} days: ${verb} rows older than ${r.cutoff}${r.dryRun ? ' (dry run: nothing deleted)' : ` in ${r.batches} batch(es), ${r.ms} ms`}\n`
  const total = retentionTables.reduce((n, t) => n + r.counts[t], 0)
  return `${head}table\t${verb}\n${retentionTables.map(t => `${LABELS[t]}\t${r.counts[t]}\n`).join('')}total\t${total}\n`
}
