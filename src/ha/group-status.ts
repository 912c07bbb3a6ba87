// The HA group as an instance sees it (CONTRACT.md section 6): what GET /v1/status lists,
// and what the standby app needs from the group runner (src/ha/runner.ts).

export interface GroupStatus {
  /** This instance's role. */
  role: 'active' | 'standby'
  /** Who holds the lease now (null: nobody). */
  leaseHolder: string | null
  /** When the holder's lease runs out unless renewed (ISO time; null: no lease). */
  leaseExpiresAt: string | null
  instances: Array<{ id: string, role: 'active' | 'standby', advertiseUrl: string | null, lastSeenAt: string }>
}

export interface StandbyDeps {
  instanceId: string
  /** The active's advertiseUrl as last learnt from the group, or undefined when no active is known. */
  activeUrl: () => string | undefined
  group: () => Promise<GroupStatus>
}
