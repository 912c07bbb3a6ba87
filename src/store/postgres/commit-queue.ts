// Commits, in the order handed in, grouped: the batches handed in while a transaction
// is running go together into the next one, each in its own savepoint. Order first: a
// call's later state must land after its earlier one, an outcome's record after the
// call, so commits are never run in parallel (a pool would let a later batch commit
// first). Grouping then buys back the throughput that serializing costs: the commit's
// WAL flush (most of a small commit's time) is paid once per group, not once per batch.
// A batch that fails (a bug: a constraint, a bad value) is rolled back alone and the
// others still commit; a failure of the transaction itself (the connection, a timeout,
// the COMMIT) fails the whole group, each batch rejecting as unavailable.
import type pg from 'pg'
import type { Change } from '../port.ts'
import { applyChanges, lockAgents, singleStatement } from './commit.ts'
import { isPgUnavailable } from './errors.ts'
import { autocommit, transaction } from './pool.ts'
import { assertFence, FencedError } from './lease.ts'
import type { FenceToken } from '../../ha/lease.ts'

interface Job { changes: readonly Change[], resolve: () => void, reject: (err: unknown) => void, failed?: unknown }

/** Enough to amortize the flush; small enough that one group's transaction stays short. */
const MAX_GROUP = 64

export class CommitQueue {
  private waiting: Job[] = []
  private running: Promise<void> | undefined

  /** Set in an HA group: every transaction first checks that this instance still holds the lease. */
  private fence: (() => FenceToken | undefined) | undefined

  constructor (private readonly pool: pg.Pool) {}

  fenceWith (fence: () => FenceToken | undefined): void { this.fence = fence }

  async commit (changes: readonly Change[]): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.waiting.push({ changes, resolve, reject })
      this.running ??= this.drain()
    })
  }

  /** Resolves once every batch handed in so far has settled. */
  async idle (): Promise<void> {
    while (this.running !== undefined) await this.running
  }

  private async drain (): Promise<void> {
    try {
      while (this.waiting.length > 0) {
        const group = this.waiting.splice(0, MAX_GROUP)
        await this.run(group)
      }
    } finally {
      this.running = undefined
    }
  }

  private async run (group: Job[]): Promise<void> {
    let token: FenceToken | undefined
    if (this.fence !== undefined) {
      token = this.fence()
      if (token === undefined) {
        const err = new FencedError('this instance does not hold the lease: nothing was written')
        for (const job of group) job.reject(err)
        return
      }
    }
    const fenced = async (client: pg.PoolClient): Promise<void> => { if (token !== undefined) await assertFence(client, token) }
    // First without savepoints (a savepoint and its release are two more round trips per
    // batch); a batch failing is rare (a bug), and then the group is redone with them.
    try {
      const changes = group.flatMap(job => job.changes)
      // Outside an HA group (this process the database's only writer), most groups are one
      // statement, its own transaction: one round trip.
      const single = token === undefined ? singleStatement(changes, true) : undefined
      if (single !== undefined) {
        await autocommit(this.pool, single)
        for (const job of group) job.resolve()
        return
      }
      await transaction(this.pool, async client => {
        await fenced(client)
        await lockAgents(client, changes)
        // As one batch: no savepoints between them here, and the report facts of the
        // whole group go in together.
        await applyChanges(client, changes)
      })
      for (const job of group) job.resolve()
      return
    } catch (err) {
      if (group.length === 1 || isPgUnavailable(err) || err instanceof FencedError) {
        for (const job of group) job.reject(err)
        return
      }
    }
    try {
      await transaction(this.pool, async client => {
        await fenced(client)
        await lockAgents(client, group.flatMap(job => job.changes))
        for (const job of group) {
          await client.query('SAVEPOINT batch')
          try {
            await applyChanges(client, job.changes)
            await client.query('RELEASE SAVEPOINT batch')
          } catch (err) {
            // When the connection itself failed this throws too, and the group fails.
            await client.query('ROLLBACK TO SAVEPOINT batch')
            job.failed = err
          }
        }
      })
    } catch (err) {
      for (const job of group) job.reject(job.failed ?? err)
      return
    }
    for (const job of group) if (job.failed !== undefined) job.reject(job.failed); else job.resolve()
  }
}
