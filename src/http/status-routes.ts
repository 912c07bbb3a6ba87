// GET /v1/status: what /readyz no longer tells the public, for supervisors: this
// instance's role, its AMI session (with the user and host it logs in as, and why it
// is down), the store, and the group's instances (CONTRACT.md section 6). A single
// instance has no lease and is the only member of its group; in an HA group, the lease
// (holder, expiry by the database's clock) and each instance's last report.
import Type from 'typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { AmiStatus } from '../ami/index.ts'
import type { StoreKind } from '../store/port.ts'
import type { GroupStatus, Role } from '../ha/group-status.ts'
import type { Readiness } from './readiness.ts'
import { ErrorBody, NoQuery } from './schemas.ts'

export interface StatusRouteDeps {
  readiness: Readiness
  ami: { status: () => AmiStatus }
  /** From the config: where this instance logs in and what it writes to. */
  target: { ami: { host: string, port: number, user: string }, store: { kind: StoreKind, where: string } }
  instance: { id: string, advertiseUrl?: string }
  group?: GroupDeps
}

/** In an HA group: this instance's role now (the lease keeper's) and the group's status. */
export interface GroupDeps {
  role: () => Role
  status: () => Promise<GroupStatus>
}

const InstanceRole = Type.Union([Type.Literal('single'), Type.Literal('active'), Type.Literal('standby')])

const StatusBody = Type.Object({
  role: InstanceRole,
  ami: Type.Object({
    ok: Type.Boolean(),
    state: Type.String(),
    since: Type.String(),
    lastError: Type.Optional(Type.String()),
    connects: Type.Integer(),
    reconnectAttempts: Type.Integer(),
    host: Type.String(),
    port: Type.Integer(),
    user: Type.String()
  }),
  store: Type.Object({
    kind: Type.Union([Type.Literal('sqlite'), Type.Literal('postgres')]),
    where: Type.String({ description: 'the file (sqlite), or host:port/database (postgres; never the password)' }),
    ok: Type.Boolean(),
    detail: Type.String(),
    checkedAt: Type.String()
  }),
  lease: Type.Union([
    Type.Object({
      holder: Type.Union([Type.String(), Type.Null()], { description: 'the active instance; null when nobody holds the lease' }),
      expiresAt: Type.Union([Type.String(), Type.Null()], { description: 'when its lease runs out unless renewed (the database\'s clock)' })
    }),
    Type.Null()
  ], { description: 'the HA lease (holder, expiry); null for a single instance' }),
  instances: Type.Array(Type.Object({
    id: Type.String(),
    role: InstanceRole,
    advertiseUrl: Type.Optional(Type.String()),
    lastSeenAt: Type.String()
  }))
})

export const statusRoutes: FastifyPluginAsyncTypebox<StatusRouteDeps> = async (app, deps) => {
  app.get('/v1/status', {
    config: { auth: { roles: ['supervisor'] } },
    schema: {
      summary: 'This instance: role, AMI session, store, and the instances of its group',
      description: 'The details /readyz leaves out (AMI user and host, store path, error text). The store check is at most a second old.',
      tags: ['supervisor'],
      querystring: NoQuery,
      response: { 200: StatusBody, 401: ErrorBody, 403: ErrorBody }
    }
  }, async () => {
    const r = await deps.readiness.current()
    const s = deps.ami.status()
    const group = await groupView(deps)
    return {
      role: group?.role ?? 'single' as const,
      ami: {
        ok: r.ami.ok,
        state: s.state,
        since: s.since,
        ...(s.lastError !== undefined ? { lastError: s.lastError } : {}),
        connects: s.connects,
        reconnectAttempts: s.reconnectAttempts,
        ...deps.target.ami
      },
      store: { ...deps.target.store, ok: r.store.ok, detail: r.store.detail, checkedAt: r.store.checkedAt },
      lease: group?.lease ?? null,
      instances: group?.instances ?? [{ id: deps.instance.id, role: 'single' as const, ...(deps.instance.advertiseUrl !== undefined ? { advertiseUrl: deps.instance.advertiseUrl } : {}), lastSeenAt: new Date().toISOString() }]
    }
  })
}

interface GroupView {
  role: Role
  lease: { holder: string | null, expiresAt: string | null }
  instances: Array<{ id: string, role: Role, advertiseUrl?: string, lastSeenAt: string }>
}

/** The group as the database tells it; when it cannot be read, this instance alone (the store check says why). */
async function groupView (deps: StatusRouteDeps): Promise<GroupView | undefined> {
  if (deps.group === undefined) return undefined
  const role = deps.group.role()
  const self = { id: deps.instance.id, role, ...(deps.instance.advertiseUrl !== undefined ? { advertiseUrl: deps.instance.advertiseUrl } : {}), lastSeenAt: new Date().toISOString() }
  let g: GroupStatus
  try {
    g = await deps.group.status()
  } catch {
    return { role, lease: { holder: null, expiresAt: null }, instances: [self] }
  }
  const instances = g.instances.map(m => ({ id: m.id, role: m.role, ...(m.advertiseUrl !== null ? { advertiseUrl: m.advertiseUrl } : {}), lastSeenAt: m.lastSeenAt }))
  return { role, lease: { holder: g.leaseHolder, expiresAt: g.leaseExpiresAt }, instances: instances.some(m => m.id === self.id) ? instances : [self, ...instances] }
}
