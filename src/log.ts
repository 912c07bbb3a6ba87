// The logging surface that non-HTTP modules accept. pino's Logger satisfies it; tests
// can pass a recorder. Keeps domain and adapters free of a logger import.
export interface Log {
  trace: (obj: object | string, msg?: string) => void
  debug: (obj: object | string, msg?: string) => void
  info: (obj: object | string, msg?: string) => void
  warn: (obj: object | string, msg?: string) => void
  error: (obj: object | string, msg?: string) => void
}

export const silentLog: Log = { trace () {}, debug () {}, info () {}, warn () {}, error () {} }

/** Every secret-bearing path in config and requests, for pino's redaction. */
export const redactPaths = [
  'config.ami.secret',
  'config.apkt.token',
  'config.auth.tokens[*].token',
  'ami.secret',
  'secret',
  'token',
  '*.secret',
  '*.token',
  'req.headers.authorization',
  'req.headers["idempotency-key"]',
  'headers.authorization',
  '*.headers.authorization',
  'err.response.secret'
]

/** The process logger's pino options (server.ts); tests build theirs from the same. */
export const loggerOptions = (level: string): { level: string, redact: { paths: string[], censor: string } } =>
  ({ level, redact: { paths: redactPaths, censor: '[redacted]' } })
