// Bearer-token authentication by role (CONTRACT.md section 4), deny by default:
// a route must declare `config: { auth: { roles: [...] } }` or `config: { auth: 'public' }`.
// A route that declares neither answers 401/403 to everyone, so a route added
// later without thinking about auth cannot leak.
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { RoleName, TokenEntry } from '../config/schema.ts'
import { tokenDigest } from '../agents/tokens.ts'
import { Errors } from '../errors.ts'

export interface Principal {
  role: RoleName
  /** Set for agent tokens: the one agent this token may act as. */
  agentId?: string
  /** Who holds the token, for logs and the audit trail (never the token itself). */
  name: string
}

export type RouteAuth = 'public' | { roles: RoleName[] }

declare module 'fastify' {
  interface FastifyContextConfig { auth?: RouteAuth }
  interface FastifyRequest { principal?: Principal }
}

const digest = tokenDigest

// The presented token's digest, kept on the request: the rate limit (which runs
// first, to refuse cheaply) and authentication both need it, and hashing it once
// instead of twice, plus one header parse instead of two, was a measurable share of
// the dialplan hook's cost. null: no bearer token was presented.
const kPresented = Symbol('pln123.presentedTokenDigest')
declare module 'fastify' {
  interface FastifyRequest { [kPresented]?: string | null }
}

/** Registers the per-request slot for the presented token's digest (idempotent). */
export function decoratePresented (app: FastifyInstance): void {
  if (!app.hasRequestDecorator(kPresented)) app.decorateRequest(kPresented, undefined)
}

/** The SHA-256 digest of the request's bearer token (computed once per request), or undefined when none was presented. */
export function presentedDigest (req: FastifyRequest): string | undefined {
  let d = req[kPresented]
  if (d === undefined) {
    const token = bearer(req)
    d = token === undefined ? null : digest(token)
    req[kPresented] = d
  }
  return d ?? undefined
}

/**
 * Finds the presented token among the configured ones by its SHA-256 digest. Timing
 * tells nothing about the tokens: the lookup compares digests, never the secrets, and
 * a caller cannot steer the digest of a guess towards a stored one, so how long the
 * lookup takes (match or not, shared leading bytes or not) reveals nothing it could
 * use. One hash per request (presentedDigest) and one Map lookup here, whatever the
 * number of tokens (the earlier loop of timingSafeEqual over every token cost 19 us per
 * request with 200 agent tokens and 62 us with 1,000, and ran twice per request with
 * the rate limit).
 */
export function makeTokenLookup (tokens: TokenEntry[]): (presentedDigest: string) => Principal | undefined {
  const known = new Map<string, Principal>()
  tokens.forEach((t, i) => {
    const d = digest(t.token)
    // The first entry wins, as before (config validation refuses duplicates anyway).
    if (!known.has(d)) known.set(d, { role: t.role, ...(t.agent !== undefined ? { agentId: t.agent } : {}), name: t.name ?? `${t.role}-token-${i}` })
  })
  return (presented) => known.get(presented)
}

function bearer (req: FastifyRequest): string | undefined {
  const h = req.headers.authorization
  if (typeof h !== 'string') return undefined
  const m = /^Bearer[ ]+([^\s]+)\s*$/i.exec(h)
  return m?.[1]
}

/**
 * Marks every route the plugin adds as public: for plugins whose routes cannot carry
 * a per-route config (@fastify/static, @fastify/swagger-ui), and that serve pages only.
 */
export function markRoutesPublic (app: FastifyInstance): void {
  app.addHook('onRoute', route => { route.config = { ...(route.config ?? {}), auth: 'public' } })
}

/** A lookup by digest of tokens issued at run time (the agent directory's), beside the configured ones. */
export type RunTimeTokens = (presentedDigest: string) => Principal | undefined

/** The configured tokens first, then the run-time ones: one Map lookup each. */
export function combinedLookup (tokens: TokenEntry[], runTime?: RunTimeTokens): (presentedDigest: string) => Principal | undefined {
  const configured = makeTokenLookup(tokens)
  return runTime === undefined ? configured : presented => configured(presented) ?? runTime(presented)
}

export const authPlugin = fp<{ tokens: TokenEntry[], runTimeTokens?: RunTimeTokens }>(async (app, opts) => {
  const lookup = combinedLookup(opts.tokens, opts.runTimeTokens)
  app.decorateRequest('principal', undefined)
  decoratePresented(app)
  app.addHook('onRequest', async (req) => {
    const rule = req.routeOptions.config.auth
    if (rule === 'public') return
    const presented = presentedDigest(req)
    if (presented === undefined) throw new Errors.Unauthorized('missing bearer token (Authorization: Bearer <token>)')
    const principal = lookup(presented)
    if (principal === undefined) throw new Errors.Unauthorized('unknown token')
    req.principal = principal
    if (req.is404) return // authenticated callers learn that the route does not exist
    if (rule === undefined || !rule.roles.includes(principal.role)) {
      throw new Errors.Forbidden(`role ${principal.role} may not ${req.method} ${req.routeOptions.url ?? req.url}`)
    }
  })
}, { name: 'pln123-auth' })

/** For agent-scoped routes: an agent token may only act as its own agent. */
export function assertActsAs (req: FastifyRequest, agentId: string | undefined): void {
  const p = req.principal
  if (p === undefined) throw new Errors.Unauthorized('not authenticated')
  if (p.role === 'agent' && (agentId === undefined || p.agentId !== agentId)) {
    throw new Errors.Forbidden(`agent ${p.agentId ?? '?'} may not act on agent ${agentId ?? 'unknown'}'s resources`)
  }
}
