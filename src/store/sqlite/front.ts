// The Store port over a SQLite connection that runs jobs (engine.ts), wherever that
// connection lives: on this thread (in-thread.ts) or in a worker (worker-runner.ts).
// Every call becomes a job in one queue, so batches and outbox changes land in the
// order they were handed in. Jobs handed in while a run is going on (or in the same
// turn of the event loop) go together into the next run: the engine commits the
// writes among them in one transaction (group commit).
import type { AcwEntry } from '../../acw/types.ts'
import type { AgentToken } from '../../agents/types.ts'
import type { AgentSession } from '../../agents/session.ts'
import type { AuditRow } from '../../audit/log.ts'
import type { Call } from '../../calls/types.ts'
import { isStoreUnavailable } from '../errors.ts'
import type { Change, OutboxClaim, OutboxEntry, OutboxResult, OutboxStats, OutboxStatus, Store, StoredAgent } from '../port.ts'
import type { ClaimData, Job, Outcome, ResultData } from './jobs.ts'
import type { AgentReportRow, SummaryRow } from '../../reports/types.ts'

/** Where the jobs run. run() is called again only after its previous answer. */
export interface Runner {
  run: (jobs: Job[]) => Promise<Outcome[]>
  close: () => Promise<void>
  /** Whether the process may exit while nothing is queued (a worker is unref'd then). */
  idle?: (idle: boolean) => void
}

/** A call after close(), or on a store whose connection is gone. */
export class StoreClosedError extends Error {
  override readonly name = 'StoreClosedError'
  readonly code = 'STORE_CLOSED'
  constructor (where: string) { super(`the store ${where} is closed`) }
}

/** Rows per page of outbox.entries(). */
const PAGE = 256

const claimData = (c: OutboxClaim): ClaimData => ({ now: c.now.toISOString(), limit: c.limit, owner: c.owner, leaseMs: c.leaseMs })

function resultData (r: OutboxResult): ResultData {
  switch (r.kind) {
    case 'delivered': return { id: r.id, kind: r.kind, at: r.at.toISOString() }
    case 'failed': return { id: r.id, kind: r.kind, error: r.error, nextAttemptAt: r.nextAttemptAt.toISOString() }
    case 'dead': case 'released': return r
  }
}

interface Queued { job: Job, resolve: (v: unknown) => void, reject: (e: unknown) => void }

export function storeFront (runner: Runner, where: string, migrated: number[], extraUnavailable: (err: unknown) => boolean = () => false): Store {
  let queue: Queued[] = []
  let running = false
  let scheduled = false
  let closing = false
  let closed: Promise<void> | undefined
  let drained: (() => void) | undefined

  const kick = (): void => {
    if (running || scheduled || queue.length === 0) return
    scheduled = true
    // setImmediate, not a microtask: every commit handed in during this turn of the
    // event loop (e.g. the events of one AMI read) joins the group.
    setImmediate(() => { scheduled = false; void drain() })
  }

  const drain = async (): Promise<void> => {
    running = true
    const batch = queue
    queue = []
    let outcomes: Outcome[]
    try {
      outcomes = await runner.run(batch.map(q => q.job))
    } catch (err) {
      outcomes = batch.map(() => ({ ok: false, error: err }))
    }
    running = false
    batch.forEach((q, i) => {
      const o = outcomes[i]
      if (o === undefined) q.reject(new Error('the store gave no answer'))
      else if (o.ok) q.resolve(o.value)
      else q.reject(o.error)
    })
    if (queue.length > 0) kick()
    else { runner.idle?.(true); drained?.() }
  }

  const submit = async <T>(job: Job): Promise<T> => {
    if (closing) throw new StoreClosedError(where)
    return await new Promise<T>((resolve, reject) => {
      if (queue.length === 0 && !running) runner.idle?.(false)
      queue.push({ job, resolve: resolve as (v: unknown) => void, reject })
      kick()
    })
  }

  const store: Store = {
    kind: 'sqlite',
    where,
    migrated,
    commit: async (changes: readonly Change[]) => { await submit<void>({ op: 'commit', changes }) },
    calls: {
      get: async (callId: string) => await submit<Call | undefined>({ op: 'callGet', callId }),
      unfinished: async () => await submit<Call[]>({ op: 'callsUnfinished' })
    },
    acw: { all: async () => await submit<AcwEntry[]>({ op: 'acwAll' }) },
    sessions: { all: async () => await submit<AgentSession[]>({ op: 'sessionsAll' }) },
    audit: { list: async (opts = {}) => await submit<AuditRow[]>({ op: 'auditList', ...opts }) },
    outbox: {
      claimDue: async claim => await submit<OutboxEntry[]>({ op: 'claimDue', ...claimData(claim) }),
      settleAndClaim: async (results, claim) => await submit<OutboxEntry[]>({ op: 'settleAndClaim', results: results.map(resultData), ...(claim !== undefined ? { claim: claimData(claim) } : {}) }),
      releaseAll: async () => { await submit<void>({ op: 'releaseAll' }) },
      release: async (id: string, owner: string) => { await submit<void>({ op: 'release', id, owner }) },
      markDelivered: async (id: string, at: Date) => { await submit<void>({ op: 'markDelivered', id, at: at.toISOString() }) },
      markFailed: async (id: string, error: string, nextAttemptAt: Date) => { await submit<void>({ op: 'markFailed', id, error, nextAttemptAt: nextAttemptAt.toISOString() }) },
      markDead: async (id: string, error: string, attempted: boolean) => { await submit<void>({ op: 'markDead', id, error, attempted }) },
      retry: async (id: string, now: Date) => await submit<OutboxEntry>({ op: 'retry', id, now: now.toISOString() }),
      get: async (id: string) => await submit<OutboxEntry | undefined>({ op: 'outboxGet', id }),
      list: async (opts = {}) => await submit<OutboxEntry[]>({ op: 'outboxList', ...opts }),
      entries: (opts: { status?: OutboxStatus } = {}) => ({
        async * [Symbol.asyncIterator] () {
          let afterSeq = 0
          for (;;) {
            const page = await submit<{ entries: OutboxEntry[], lastSeq: number }>({ op: 'outboxPage', afterSeq, limit: PAGE, ...opts })
            yield * page.entries
            if (page.entries.length < PAGE) return
            afterSeq = page.lastSeq
          }
        }
      }),
      stats: async (now: Date) => await submit<OutboxStats>({ op: 'outboxStats', now: now.toISOString() })
    },
    retention: {
      deleteBatch: async (table, cutoff, limit, after) => await submit<{ deleted: number, after?: string }>({ op: 'deleteBatch', table, cutoff, limit, ...(after !== undefined ? { after } : {}) }),
      countOld: async (table, cutoff) => await submit<number>({ op: 'countOld', table, cutoff })
    },
    agents: {
      all: async () => await submit<StoredAgent[]>({ op: 'agentsAll' }),
      tokens: async () => await submit<AgentToken[]>({ op: 'agentTokens' }),
      version: async () => await submit<number>({ op: 'agentsVersion' })
    },
    reports: {
      summary: async q => await submit<SummaryRow[]>({ op: 'reportSummary', from: q.from.toISOString(), to: q.to.toISOString(), interval: q.interval, serviceLevelSeconds: q.serviceLevelSeconds }),
      agents: async r => await submit<AgentReportRow[]>({ op: 'reportAgents', from: r.from.toISOString(), to: r.to.toISOString() })
    },
    check: async () => { await submit<void>({ op: 'check' }) },
    isUnavailable: (err: unknown) => isStoreUnavailable(err) || extraUnavailable(err),
    close: async () => {
      closed ??= (async () => {
        closing = true
        if (running || scheduled || queue.length > 0) await new Promise<void>(resolve => { drained = resolve })
        await runner.close()
      })()
      await closed
    },
    get open () { return !closing }
  }
  return store
}
