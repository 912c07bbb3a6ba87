// Renders every error as { error: CODE, message } (CONTRACT.md section 4).
import type { FastifyError, FastifyInstance } from 'fastify'
import { AmiError } from '../ami/index.ts'
import { isStoreUnavailable } from '../store/errors.ts'

const amiStatus: Record<string, number> = {
  AMI_UNAVAILABLE: 503,
  AMI_CONNECTION_LOST: 503,
  AMI_TIMEOUT: 503,
  AMI_ACTION_FAILED: 502
}

// Fastify's own refusals (body parser, content type) by status, in the API's words.
const fastifyCodes: Record<number, string> = { 413: 'PAYLOAD_TOO_LARGE', 415: 'UNSUPPORTED_MEDIA_TYPE' }

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
      return reply.code(status).send({ error: err.code, message: err.message })
    }
    if (isStoreUnavailable(err)) {
      // Disk full, read-only, I/O error: the write was rolled back, so nothing was
      // recorded and nothing may be claimed. 503 tells the client to try again later.
      req.log.error({ err: { code: err.code, message: err.message } }, 'store unavailable: request not completed')
      return reply.code(503).send({ error: 'STORE_UNAVAILABLE', message: `the store cannot record this now (${err.code}: ${err.message}); the request was not completed, try again later` })
    }
    const status = err.statusCode ?? 500
    // Shed requests are counted by the protection plugin's throttled warning, not one line each.
    if (status >= 500 && err.code !== 'OVERLOADED') req.log.error({ err }, 'request failed')
    const code = err.code !== undefined && !err.code.startsWith('FST_') ? err.code : (status >= 500 ? 'INTERNAL' : (fastifyCodes[status] ?? 'BAD_REQUEST'))
    const details = (err as { details?: Record<string, unknown> }).details
    return reply.code(status).send({ error: code, message: status >= 500 && code === 'INTERNAL' ? 'internal error' : err.message, ...details })
  })
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0] ?? ''}` })
  })
}
