// buildApp: the HTTP face of the service, registered in one visible order. It takes
// its collaborators ready-made (service.ts wires them) so tests can build it with
// inject() and real or test parts.
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { Config } from './config/schema.ts'
import { authPlugin } from './http/auth.ts'
import { installErrorHandler } from './http/errors.ts'
import { AccessLog } from './http/access-log.ts'
import { closeConnectionsWhenClosing } from './http/shutdown.ts'
import { healthRoutes, type HealthDeps } from './http/health.ts'
import { Readiness } from './http/readiness.ts'
import { statusRoutes, type GroupDeps } from './http/status-routes.ts'
import { hostname } from 'node:os'
import { apktRoutes, type ApktRouteDeps } from './http/apkt-routes.ts'
import { agentRoutes, type AgentRouteDeps } from './http/agents-routes.ts'
import { callRoutes, type CallRouteDeps } from './http/calls-routes.ts'
import { wrapupRoutes, type WrapupRouteDeps } from './http/wrapup-routes.ts'
import { pbxRoutes, type PbxRouteDeps } from './http/pbx-routes.ts'
import { eventsRoutes, type EventsRouteDeps } from './http/events-routes.ts'
import { acwRoutes, type AcwRouteDeps } from './http/acw-routes.ts'
import { adminRoutes, type AdminRouteDeps } from './http/admin-routes.ts'
import type { RunTimeTokens } from './http/auth.ts'
import { shiftRoutes, type ShiftRouteDeps } from './http/shift-routes.ts'
import { auditRoutes, type AuditRouteDeps } from './http/audit-routes.ts'
import { uiRoutes } from './http/ui-routes.ts'
import { routeTablePlugin } from './http/route-table.ts'
import { docsUiRoutes, openApiPlugin } from './http/docs.ts'
import { protectionPlugin } from './http/protection.ts'
import { metricsRoutes, type MetricsRouteDeps } from './http/metrics-routes.ts'
import { reportRoutes, type ReportRouteDeps } from './http/report-routes.ts'

export type AppDeps = HealthDeps & ApktRouteDeps & CallRouteDeps & WrapupRouteDeps & AgentRouteDeps & PbxRouteDeps & EventsRouteDeps & AcwRouteDeps & ShiftRouteDeps & AuditRouteDeps & MetricsRouteDeps & AdminRouteDeps & ReportRouteDeps & {
  /** Agent tokens issued at run time (the agent directory's), beside config.auth.tokens. */
  runTimeTokens?: RunTimeTokens
  /** This instance's name (the host's by default) and, in an HA group, where the others reach it. */
  instance?: { id: string, advertiseUrl?: string }
  /** In an HA group: this instance's role now (the lease) and the group's status. */
  group?: GroupDeps
}

export async function buildApp (config: Config, deps: AppDeps, logger?: FastifyBaseLogger): Promise<FastifyInstance> {
  const app = Fastify({
    ...(logger !== undefined ? { loggerInstance: logger } : { logger: false }),
    bodyLimit: config.http.bodyLimit,
    // Unknown fields are refused, not silently dropped, and nothing is coerced:
    // "5" is not a number and a typo in a field name is the client's bug to see.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false } },
    // In-flight requests finish on close; idle keep-alive sockets do not hold shutdown.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // One access line per request instead of two (http/access-log.ts).
    logController: new AccessLog()
  }).withTypeProvider<TypeBoxTypeProvider>()

  installErrorHandler(app)
  closeConnectionsWhenClosing(app)
  // Before any route: these see every route as it is added (auth table, OpenAPI).
  await app.register(routeTablePlugin)
  await app.register(openApiPlugin)
  // Shed load and rate-limit before authenticating: refusing must stay cheap.
  const runTimeTokens = deps.runTimeTokens !== undefined ? { runTimeTokens: deps.runTimeTokens } : {}
  await app.register(protectionPlugin, { rateLimit: config.http.rateLimit, underPressure: config.http.underPressure, tokens: config.auth.tokens, ...runTimeTokens })
  await app.register(authPlugin, { tokens: config.auth.tokens, ...runTimeTokens })
  await app.register(docsUiRoutes)
  // One Readiness for /readyz and /v1/status: the store's durable check runs at most once a second.
  const readiness = new Readiness(deps)
  await app.register(healthRoutes, { readiness, ...(deps.group !== undefined ? { role: deps.group.role } : {}) })
  await app.register(statusRoutes, {
    readiness,
    ami: deps.ami,
    target: { ami: { host: config.ami.host, port: config.ami.port, user: config.ami.username }, store: { kind: deps.store.kind, where: deps.store.where } },
    instance: deps.instance ?? { id: hostname() },
    ...(deps.group !== undefined ? { group: deps.group } : {})
  })
  await app.register(apktRoutes, deps)
  await app.register(agentRoutes, deps)
  await app.register(callRoutes, deps)
  await app.register(wrapupRoutes, deps)
  await app.register(pbxRoutes, deps)
  await app.register(eventsRoutes, { ...deps, limits: config.http.events })
  await app.register(acwRoutes, deps)
  await app.register(shiftRoutes, deps)
  await app.register(auditRoutes, deps)
  await app.register(adminRoutes, deps)
  await app.register(metricsRoutes, deps)
  await app.register(reportRoutes, deps)
  await app.register(uiRoutes)
  return app
}
