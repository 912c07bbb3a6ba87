// The HA lease and the group's roll call in PostgreSQL (src/ha/lease.ts says how they
// are used). Times here are the database's own (clock_timestamp(), timestamptz), unlike
// the rest of the store where the service stamps ISO text: a lease's expiry must be
// judged by one clock for every instance, and the database's is the one they share.
import type pg from 'pg'
import type { FenceToken, GroupMember, LeasePort, LeaseState, Role } from '../../ha/lease.ts'

const NAME = 'active'

interface LeaseRow { holder: string | null, epoch: string, remaining_ms: string | number, mine: boolean }

export function pgLease (pool: pg.Pool): LeasePort {
  const state = (r: LeaseRow | undefined, instanceId: string): LeaseState => r === undefined
    ? { holder: null, epoch: 0, mine: false, remainingMs: 0 }
    : { holder: r.holder, epoch: Number(r.epoch), mine: r.mine && r.holder === instanceId, remainingMs: Math.max(0, Math.floor(Number(r.remaining_ms))) }

  return {
    async acquire (instanceId, leaseMs, epoch) {
      // One statement takes a free or expired lease (a new epoch), or renews the caller's
      // own live lease (same epoch). A caller whose own lease ran out gets a new epoch too:
      // it stopped acting locally meanwhile, so what it does next is a new term.
      const taken = await pool.query<LeaseRow>(`
        INSERT INTO ha_lease AS l (name, holder, epoch, expires_at)
        VALUES ($1, $2, 1, clock_timestamp() + make_interval(secs => $3::double precision / 1000))
        ON CONFLICT (name) DO UPDATE SET
          holder = excluded.holder,
          epoch = CASE WHEN l.holder = excluded.holder AND l.epoch = $4 AND l.expires_at > clock_timestamp() THEN l.epoch ELSE l.epoch + 1 END,
          expires_at = excluded.expires_at
        WHERE l.expires_at <= clock_timestamp() OR l.holder IS NULL OR (l.holder = excluded.holder AND l.epoch = $4)
        RETURNING holder, epoch, extract(epoch FROM expires_at - clock_timestamp()) * 1000 AS remaining_ms, true AS mine`,
      [NAME, instanceId, leaseMs, epoch ?? -1])
      if (taken.rows[0] !== undefined) return state(taken.rows[0], instanceId)
      const held = await pool.query<LeaseRow>(`SELECT holder, epoch, greatest(0, extract(epoch FROM expires_at - clock_timestamp()) * 1000) AS remaining_ms, false AS mine
        FROM ha_lease WHERE name = $1`, [NAME])
      return state(held.rows[0], instanceId)
    },

    async release (instanceId, epoch) {
      await pool.query(`UPDATE ha_lease SET holder = NULL, expires_at = clock_timestamp() WHERE name = $1 AND holder = $2 AND epoch = $3`, [NAME, instanceId, epoch])
    },

    async heartbeat (member) {
      await pool.query(`INSERT INTO ha_instances (instance_id, role, advertise_url, last_seen_at) VALUES ($1, $2, $3, clock_timestamp())
        ON CONFLICT (instance_id) DO UPDATE SET role = excluded.role, advertise_url = excluded.advertise_url, last_seen_at = excluded.last_seen_at`,
      [member.id, member.role, member.advertiseUrl])
    },

    async members () {
      const r = await pool.query<{ instance_id: string, role: Role, advertise_url: string | null, last_seen_at: Date }>(
        'SELECT instance_id, role, advertise_url, last_seen_at FROM ha_instances ORDER BY last_seen_at DESC')
      return r.rows.map((m): GroupMember => ({ id: m.instance_id, role: m.role, advertiseUrl: m.advertise_url, lastSeenAt: m.last_seen_at.toISOString() }))
    }
  }
}

/** Raised inside a commit whose fencing token is no longer the lease's: nothing of it is written. */
export class FencedError extends Error {
  override readonly name = 'FencedError'
  readonly code = 'FENCED'
}

/**
 * Checked first in a fenced commit's transaction. FOR SHARE holds the lease row until the
 * commit ends, so a takeover (which updates the row) waits for this commit, and a commit
 * never lands after a takeover that did not see it.
 */
export async function assertFence (client: pg.PoolClient, token: FenceToken): Promise<void> {
  const r = await client.query(`SELECT 1 FROM ha_lease WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > clock_timestamp() FOR SHARE`, [NAME, token.holder, token.epoch])
  if (r.rowCount === 0) throw new FencedError(`instance ${token.holder} no longer holds the lease (epoch ${token.epoch}): nothing was written`)
}
