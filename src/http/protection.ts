// Load shedding and rate limiting, both ahead of authentication: an overloaded or
// flooded service should refuse cheaply, before any token lookup or body parsing.
//  - under-pressure answers 503 OVERLOADED past the configured event-loop delay or
//    memory, except /healthz and /readyz, so probes still tell the truth;
//  - the rate limit counts per token (its digest: the key is kept in memory and
//    must not be the secret itself) when the token is a known one, else per client
//    IP, so random tokens cannot buy a fresh allowance each and guessing is limited.
import fp from 'fastify-plugin'
import underPressure from '@fastify/under-pressure'
import rateLimit from '@fastify/rate-limit'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Config, TokenEntry } from '../config/schema.ts'
import { Errors } from '../errors.ts'
import { combinedLookup, decoratePresented, presentedDigest, type RunTimeTokens } from './auth.ts'

export interface ProtectionOptions {
  rateLimit: Config['http']['rateLimit']
  underPressure: Config['http']['underPressure']
  tokens: TokenEntry[]
  /** Tokens issued at run time count per token too. */
  runTimeTokens?: RunTimeTokens
}

const PROBES = new Set(['/healthz', '/readyz'])
const isProbe = (req: FastifyRequest): boolean => PROBES.has(req.routeOptions.url ?? '')

const RETRY_AFTER_S = 10

export const protectionPlugin = fp<ProtectionOptions>(async (app, opts) => {
  const up = opts.underPressure
  let warnedAt = 0 // one warning per 10 s: logging every shed request would add to the load
  await app.register(underPressure, {
    maxEventLoopDelay: up.maxEventLoopDelayMs,
    maxHeapUsedBytes: up.maxHeapUsedBytes,
    maxRssBytes: up.maxRssBytes,
    retryAfter: RETRY_AFTER_S,
    // undefined lets the request through; a rejection goes to the error handler.
    pressureHandler: async (req: FastifyRequest, reply: FastifyReply, type: string, value: number | undefined) => {
      if (isProbe(req)) return
      if (Date.now() - warnedAt > 10_000) { warnedAt = Date.now(); req.log.warn({ pressure: { type, value } }, 'shedding load: service under pressure') }
      void reply.header('retry-after', RETRY_AFTER_S)
      throw new Errors.Overloaded(`service overloaded (${type}); retry in ${RETRY_AFTER_S} s`)
    }
  })

  const lookup = combinedLookup(opts.tokens, opts.runTimeTokens)
  decoratePresented(app)
  // global: false, then one hook here: Fastify runs instance hooks before route-level
  // ones, and the plugin's own per-route hooks would run after authentication.
  await app.register(rateLimit, {
    global: false,
    max: opts.rateLimit.max,
    timeWindow: opts.rateLimit.timeWindowMs,
    keyGenerator: (req: FastifyRequest) => {
      const presented = presentedDigest(req)
      if (presented !== undefined && lookup(presented) !== undefined) return `token:${presented}`
      return `ip:${req.ip}`
    },
    allowList: (req: FastifyRequest) => isProbe(req),
    errorResponseBuilder: (_req: FastifyRequest, ctx: { max: number, after: string }) =>
      new Errors.RateLimited(`rate limit exceeded: at most ${ctx.max} requests per ${opts.rateLimit.timeWindowMs / 1000} s; retry in ${ctx.after}`)
  })
  app.addHook('onRequest', app.rateLimit())
}, { name: 'pln123-protection' })
