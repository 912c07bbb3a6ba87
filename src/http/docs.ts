// The operator's reference: OpenAPI 3 generated from the route schemas (the same ones
// that validate requests, so the document cannot drift from what is enforced), at
// /docs/json, with Swagger UI at /docs. Each operation says which roles may call it.
import { readFileSync } from 'node:fs'
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyPluginAsync, FastifySchema, RouteOptions } from 'fastify'
import { markRoutesPublic, type RouteAuth } from './auth.ts'

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string, version: string, description?: string }

/** Adds the bearer requirement and the allowed roles to an operation, without touching the route's own schema. */
function withAuth ({ schema, url, route }: { schema: FastifySchema, url: string, route: RouteOptions }): { schema: FastifySchema, url: string } {
  const auth = (route.config as { auth?: RouteAuth } | undefined)?.auth
  const s: FastifySchema = { ...(schema ?? {}) }
  if (auth === 'public') {
    s.security = []
  } else if (auth !== undefined) {
    s.security = [{ bearer: [] }]
    s.description = `${s.description !== undefined ? `${s.description}\n\n` : ''}Roles: ${auth.roles.join(', ')}.`
  }
  return { schema: s, url }
}

/** Collects routes as they are added: register before any route plugin. */
export const openApiPlugin = fp(async (app) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: pkg.name, version: pkg.version, ...(pkg.description !== undefined ? { description: pkg.description } : {}) },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'a token from auth.tokens; its role decides what it may call' } } },
      security: [{ bearer: [] }]
    },
    transform: withAuth
  })
}, { name: 'pln123-openapi' })

/** Swagger UI and the JSON document, public like the other pages. */
export const docsUiRoutes: FastifyPluginAsync = async (app) => {
  markRoutesPublic(app)
  await app.register(swaggerUi, { routePrefix: '/docs' })
}
