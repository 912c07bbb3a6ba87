// Every route as it is added, with its auth rule and schema: the auth table test, the
// OpenAPI test and the schema test walk this, so they cover routes nobody has
// written a test for yet. Registered before any route plugin; on ready it refuses to
// start when a route declares no auth (deny-by-default would answer 401/403 to it
// anyway, but a route nobody can reach is a bug to see at start, not in production).
import fp from 'fastify-plugin'
import type { FastifySchema, RouteOptions } from 'fastify'
import type { RouteAuth } from './auth.ts'

export interface RouteEntry {
  method: string
  url: string
  /** As Fastify will enforce it: read after every onRoute hook had its say. */
  readonly auth: RouteAuth | undefined
  readonly schema: FastifySchema | undefined
  /** Left out of the OpenAPI document (the docs' own pages and assets). */
  readonly hidden: boolean
}

declare module 'fastify' {
  interface FastifyInstance { routeTable: RouteEntry[] }
}

/** Why a route's auth declaration is unusable, or undefined when it is fine. */
export function authProblem (auth: RouteAuth | undefined): string | undefined {
  if (auth === undefined) return 'declares no auth (config: { auth: \'public\' } or { auth: { roles: [...] } })'
  if (auth === 'public') return undefined
  if (typeof auth !== 'object' || !Array.isArray(auth.roles) || auth.roles.length === 0) return 'declares auth without any role'
  return undefined
}

export const routeTablePlugin = fp(async (app) => {
  const table: RouteEntry[] = []
  app.decorate('routeTable', table)
  app.addHook('onRoute', (route: RouteOptions) => {
    // Hooks of inner plugins run after this one and may still set config.auth
    // (ui-routes marks its static assets public), so read the live options later.
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    for (const method of methods) {
      table.push({
        method: String(method).toUpperCase(),
        url: route.url,
        get auth () { return (route.config as { auth?: RouteAuth } | undefined)?.auth },
        get schema () { return route.schema },
        get hidden () { return (route.schema as { hide?: boolean } | undefined)?.hide === true }
      })
    }
  })
  app.addHook('onReady', async () => {
    const bad = table.flatMap(r => { const why = authProblem(r.auth); return why === undefined ? [] : [`${r.method} ${r.url} ${why}`] })
    if (bad.length > 0) throw new Error(`routes without a usable auth rule:\n  - ${bad.join('\n  - ')}`)
  })
}, { name: 'pln123-route-table' })
