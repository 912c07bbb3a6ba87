// asterisk-manager writes field values verbatim: a CR or LF in a value ends the
// header and lets the rest be read as new headers or a whole new action (say an
// Originate). Every action passes through here before a byte reaches the socket.
export type FieldValue = string | number | boolean
export type Fields = Record<string, FieldValue | Record<string, FieldValue> | undefined>

const KEY = /^[A-Za-z][A-Za-z0-9_-]*$/
// Channel variable names as Asterisk accepts them, including the __ inheritance prefix.
const VAR_NAME = /^[A-Za-z0-9_()]+$/
const FORBIDDEN = /[\r\n\0]/

export class UnsafeFieldError extends Error {
  readonly code = 'AMI_UNSAFE_FIELD'
  readonly field: string
  constructor (field: string, why: string) {
    super(`AMI field "${field}" refused: ${why}`)
    this.name = 'UnsafeFieldError'
    this.field = field
  }
}

function checkValue (field: string, value: FieldValue): void {
  if (typeof value === 'number' && !Number.isFinite(value)) throw new UnsafeFieldError(field, 'not a finite number')
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') throw new UnsafeFieldError(field, `unsupported type ${typeof value}`)
  if (typeof value === 'string' && FORBIDDEN.test(value)) throw new UnsafeFieldError(field, 'value contains CR, LF or NUL')
}

/** Throws UnsafeFieldError unless every key and value is safe to frame as AMI headers. */
export function assertSafeFields (action: string, fields: Fields): void {
  if (!KEY.test(action)) throw new UnsafeFieldError('Action', 'action name must be letters, digits, _ or -')
  for (const [key, value] of Object.entries(fields)) {
    if (!KEY.test(key)) throw new UnsafeFieldError(key, 'key must be letters, digits, _ or - (no ":", spaces, CR or LF)')
    if (key.toLowerCase() === 'actionid' || key.toLowerCase() === 'action') throw new UnsafeFieldError(key, 'set by the adapter')
    if (value === undefined) continue
    if (typeof value === 'object') {
      if (value === null || Array.isArray(value)) throw new UnsafeFieldError(key, 'only a map of variables may be an object')
      for (const [name, v] of Object.entries(value)) {
        if (!VAR_NAME.test(name)) throw new UnsafeFieldError(`${key}.${name}`, 'variable name must be letters, digits, _ or ()')
        checkValue(`${key}.${name}`, v)
      }
      continue
    }
    checkValue(key, value)
  }
}
