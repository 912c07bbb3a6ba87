// What an instance of an HA group tells about its group (GET /v1/status, the standby
// app): its own role, who holds the lease and until when (the database's clock), and
// every instance as it last reported itself. Shared by the runner, the full service and
// the standby app, so it lives apart from each of them.
import type { GroupMember, Role } from './lease.ts'

export type { GroupMember, Role } from './lease.ts'

export interface GroupStatus {
  /** This instance's role now. */
  role: Role
  /** The lease's holder, null when nobody holds it (never taken, or released). */
  leaseHolder: string | null
  /** When the holder's lease runs out (ISO, by the database's clock); null with no holder. */
  leaseExpiresAt: string | null
  /** Every instance heard from, most recently seen first. */
  instances: GroupMember[]
}

/** What the standby app (src/ha/standby-app.ts) needs of the runner. */
export interface StandbyDeps {
  instanceId: string
  /** The active's advertiseUrl as last seen in the group's roll call; undefined when none is known. */
  activeUrl: () => string | undefined
  group: () => Promise<GroupStatus>
}
