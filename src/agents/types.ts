// An agent as the service knows it at run time (CONTRACT.md section 7): from the config's
// `agents` (which win for the ids they list) or created through the admin API / the CLI
// and kept in the store, shared by an HA group.

export interface Agent {
  id: string
  /** Shown to people (dashboard, admin page); not sent to Asterisk. */
  name?: string
  /**
   * The queue member interface (`PJSIP/1001`). An agent created without one is not
   * matched to channels until it has one (a login at a phone gives it one).
   */
  interface?: string
  queues: string[]
  unit: string
  unitPelayanan: string
  /** queue_log's agent column (MemberName); default: the interface. Config agents only. */
  memberName?: string
}

/** An agent token issued at run time, as the store keeps it: its digest, never the token. */
export interface AgentToken {
  /** SHA-256 of the token, base64 (what src/http/auth.ts computes for a presented one). */
  digest: string
  agentId: string
  /** Who holds it, for logs and the audit trail. */
  name: string
  createdAt: string
}

/** The same agent, field by field (absent equals undefined, as in JSON). */
export function sameAgent (a: Agent, b: Agent): boolean {
  return a.id === b.id && a.name === b.name && a.interface === b.interface && a.unit === b.unit &&
    a.unitPelayanan === b.unitPelayanan && a.memberName === b.memberName &&
    a.queues.length === b.queues.length && a.queues.every((q, i) => q === b.queues[i])
}

/** A copy without undefined fields (what the store and the API hand out). */
export function cleanAgent (a: Agent): Agent {
  return {
    id: a.id,
    ...(a.name !== undefined ? { name: a.name } : {}),
    ...(a.interface !== undefined ? { interface: a.interface } : {}),
    queues: [...a.queues],
    unit: a.unit,
    unitPelayanan: a.unitPelayanan,
    ...(a.memberName !== undefined ? { memberName: a.memberName } : {})
  }
}
