// One catalogue of the API's coded errors (CONTRACT.md section 4), each with its HTTP
// status. Routes throw these; the error handler in http/errors.ts renders them as
// { error: CODE, message }.
import createError from '@fastify/error'

export const Errors = {
  BadRequest: createError<[string]>('BAD_REQUEST', '%s', 400),
  Unauthorized: createError<[string]>('UNAUTHORIZED', '%s', 401),
  Forbidden: createError<[string]>('FORBIDDEN', '%s', 403),
  NotFound: createError<[string]>('NOT_FOUND', '%s', 404),
  NotReady: createError<[string]>('NOT_READY', '%s', 503),
  AmiUnavailable: createError<[string]>('AMI_UNAVAILABLE', '%s', 503),
  StoreUnavailable: createError<[string]>('STORE_UNAVAILABLE', '%s', 503)
} as const
