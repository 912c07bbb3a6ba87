// Bearer tokens as the service keeps them: a digest, never the token. The same digest
// for configured tokens and run-time ones (src/http/auth.ts looks either up by it).
import { hash, randomBytes } from 'node:crypto'

/** SHA-256 of the token, base64. */
export const tokenDigest = (token: string): string => hash('sha256', token, 'base64')

/** A new agent token: 32 random bytes, base64url (43 characters), shown once. */
export const newToken = (): string => randomBytes(32).toString('base64url')
