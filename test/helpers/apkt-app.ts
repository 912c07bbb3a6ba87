// The APKT routes in an app with the service's real auth and error rendering, for
// inject(). Only these routes: the full buildApp() needs every feature's parts, and
// its wiring of these routes is exercised by the real process in apkt-crash.test.ts.
import Fastify, { type FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { parseConfig } from '../../src/config/load.ts'
import type { Config } from '../../src/config/schema.ts'
import { apktRoutes, type ApktRouteDeps } from '../../src/http/apkt-routes.ts'
import { authPlugin } from '../../src/http/auth.ts'
import { installErrorHandler } from '../../src/http/errors.ts'

export const TOKENS = {
  supervisor: 'test-supervisor-token-0001',
  agent1001: 'test-agent-1001-token-0001',
  pbx: 'test-pbx-token-00000000001'
} as const

export function testConfig (): Config {
  return parseConfig({
    ami: { username: 'cti', secret: 'secret' },
    directory: [{ index: 3, name: 'Contact Center ICONNET', context: 'direct-transfer', exten: '3' }],
    agents: [{ id: '1001', interface: 'PJSIP/1001', queues: ['pln123'], unit: 'DISTRIBUSI JAKARTA RAYA', unitPelayanan: 'UP3 TANJUNG PRIOK' }],
    apkt: { url: 'http://127.0.0.1:9/apkt/records', token: 'test-apkt-token' },
    auth: {
      tokens: [
        { token: TOKENS.supervisor, role: 'supervisor' },
        { token: TOKENS.agent1001, role: 'agent', agent: '1001' },
        { token: TOKENS.pbx, role: 'pbx' }
      ]
    }
  })
}

export async function testApp (deps: ApktRouteDeps, config = testConfig()): Promise<FastifyInstance> {
  // The same validation settings as src/app.ts: no coercion, unknown fields refused.
  const app = Fastify({ logger: false, ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false } } })
    .withTypeProvider<TypeBoxTypeProvider>()
  installErrorHandler(app)
  await app.register(authPlugin, { tokens: config.auth.tokens })
  await app.register(apktRoutes, deps)
  return app
}

export const bearer = (token: string): { authorization: string } => ({ authorization: `Bearer ${token}` })
