// Renders every error as { error: CODE, message } (CONTRACT.md section 4). Only codes
// the API defines carry their own message to the client; anything else (a driver's
// SQLITE_... text, an ENOENT with a path, a bug's TypeError) is a 500 INTERNAL that
// names the request id, and the details go to the log line with that id.
import type { FastifyError, FastifyInstance } from 'fastify'
import { AmiError } from '../ami/index.ts'
import { Errors } from '../errors.ts'
import { whyStoreUnavailable } from '../store/why.ts'

const amiStatus: Record<string, number> = {
  AMI_UNAVAILABLE: 503,
  AMI_CONNECTION_LOST: 503,
  AMI_TIMEOUT: 503,
  AMI_ACTION_FAILED: 502
}

// Fastify's own refusals (body parser, content type) by status, in the API's words.
const fastifyCodes: Record<number, string> = { 413: 'PAYLOAD_TOO_LARGE', 415: 'UNSUPPORTED_MEDIA_TYPE' }

// The API's own codes (src/errors.ts and the AMI adapter's): messages written for clients.
const apiCodes = new Set<string>([...Object.values(Errors).map(E => new E('').code), ...Object.keys(amiStatus)])

export function installErrorHandler (app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation !== undefined) {
      const where = err.validationContext ?? 'request'
      const first = err.validation[0]
      const field = first === undefined
        ? where
        : `${where}${first.instancePath.replace(/\//g, '.')}${first.keyword === 'required' ? `.${String(first.params.missingProperty)}` : ''}${first.keyword === 'additionalProperties' ? `.${String(first.params.additionalProperty)}` : ''}`
      return reply.code(400).send({ error: 'BAD_REQUEST', message: `${field}: ${first?.message ?? err.message}`, field })
    }
    if (err instanceof AmiError) {
      const status = amiStatus[err.code] ?? 502
      req.log.warn({ err: { code: err.code, message: err.message } }, 'AMI action failed')
      return reply.code(status).send({ error: err.code, message: err.publicMessage })
    }
    const why = whyStoreUnavailable(err)
    if (why !== undefined) {
      // Disk full, read-only, the database gone or frozen (a read route's query): nothing
      // was recorded and nothing may be claimed. 503 tells the client to try again later.
      req.log.error({ err: { code: err.code, message: err.message } }, 'store unavailable: request not completed')
      return reply.code(503).send({ error: 'STORE_UNAVAILABLE', message: `the store cannot record this now (${why}); the request was not completed, try again later` })
    }
    const status = err.statusCode ?? 500
    const ours = err.code !== undefined && apiCodes.has(err.code)
    if (status >= 500 && !ours) {
      req.log.error({ err }, 'request failed')
      return reply.code(500).send({ error: 'INTERNAL', message: `internal error (request ${req.id})`, requestId: req.id })
    }
    // Shed requests are counted by the protection plugin's throttled warning, not one line each.
    if (status >= 500 && err.code !== 'OVERLOADED') req.log.error({ err }, 'request failed')
    const code = err.code !== undefined && !err.code.startsWith('FST_') ? err.code : (fastifyCodes[status] ?? 'BAD_REQUEST')
    const details = (err as { details?: Record<string, unknown> }).details
    return reply.code(status).send({ error: code, message: err.message, ...details })
  })
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0] ?? ''}` })
  })
}
