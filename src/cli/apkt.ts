// `pln123-cti apkt list|retry|export`: the outbox for operators at a shell, on the
// same store file the service uses. It never delivers (the running service's
// dispatcher does); a retried record goes out at the service's next poll.
import { parseArgs } from 'node:util'
import { Outbox, outboxStatuses, type OutboxEntry, type OutboxStatus } from '../apkt/outbox.ts'
import type { StoreConfig } from '../store/open.ts'
import { UsageError, type Io } from './io.ts'
import { openCliStore } from './store.ts'

export const apktUsage = `usage:
  pln123-cti apkt list [--status pending|delivered|dead] [--limit N]   newest first (default 50)
  pln123-cti apkt retry <id>                                           re-queue a dead record
  pln123-cti apkt export [--status pending|delivered|dead]             JSON lines, oldest first`

function statusOption (value: string | undefined): OutboxStatus | undefined {
  if (value === undefined) return undefined
  if (!(outboxStatuses as readonly string[]).includes(value)) throw new UsageError(`--status must be one of ${outboxStatuses.join(', ')} (got "${value}")`)
  return value as OutboxStatus
}

function line (e: OutboxEntry): string {
  return [e.id, e.status, String(e.attempts), e.createdAt, e.agentId, e.callId, e.record.topic, e.lastError ?? ''].join('\t')
}

export async function apktCommand (args: string[], storeConfig: StoreConfig, io: Io): Promise<number> {
  const [sub, ...rest] = args
  if (sub === undefined || sub === '--help' || sub === '-h') { await io.out(`${apktUsage}\n`); return sub === undefined ? 2 : 0 }
  if (!['list', 'retry', 'export'].includes(sub)) throw new UsageError(`unknown apkt command "${sub}"`)
  const { values, positionals } = parseArgs({
    args: rest,
    options: { status: { type: 'string' }, limit: { type: 'string' } },
    allowPositionals: true,
    strict: true
  })
  const store = await openCliStore(storeConfig)
  try {
    // Reads and re-queues only: it never claims, so the owner and lease are never used.
    const outbox = new Outbox({ queries: store.outbox, write: async change => { await store.commit([change]) }, owner: 'cli', leaseMs: 0 })
    const status = statusOption(values.status)
    switch (sub) {
      case 'list': {
        if (positionals.length > 0) throw new UsageError(`apkt list takes no arguments (got ${positionals.join(' ')})`)
        const limit = values.limit === undefined ? 50 : Number(values.limit)
        if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a whole number >= 1')
        const s = await outbox.stats()
        await io.out(`# pending ${s.pending}, delivered ${s.delivered}, dead ${s.dead}${s.oldestPendingAgeMs !== null ? `, oldest pending ${Math.round(s.oldestPendingAgeMs / 1000)} s old` : ''}\n`)
        await io.out('id\tstatus\tattempts\tcreatedAt\tagentId\tcallId\ttopic\tlastError\n')
        for (const e of await outbox.list({ ...(status !== undefined ? { status } : {}), limit })) await io.out(`${line(e)}\n`)
        return 0
      }
      case 'retry': {
        if (values.status !== undefined || values.limit !== undefined) throw new UsageError('apkt retry takes only a record id')
        const [id, ...extra] = positionals
        if (id === undefined || extra.length > 0) throw new UsageError('apkt retry needs exactly one record id')
        const e = await outbox.retry(id)
        await io.out(`re-queued ${e.id} (call ${e.callId}, agent ${e.agentId}, ${e.attempts} earlier attempt(s)); the running service sends it at its next poll\n`)
        return 0
      }
      default: {
        if (positionals.length > 0 || values.limit !== undefined) throw new UsageError('apkt export takes only --status')
        for await (const e of outbox.entries(status !== undefined ? { status } : {})) await io.out(`${JSON.stringify(e)}\n`)
        return 0
      }
    }
  } finally {
    await store.close()
  }
}
