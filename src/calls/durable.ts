// A request that acts on a change (the transfer button sends a BlindTransfer; the consent
// route tells the softphone it is recorded) answers only once the change is durable. The
// journal never drops a change in an outage, it waits; a request must not wait with it.
// So: refused at once while the store is known to be away, and a commit that does not
// come in time answers 503 STORE_UNAVAILABLE (the change may still land later, in order).
import { deadline, type Deadline } from '../deadline.ts'
import { Errors } from '../errors.ts'

export interface Durability {
  /** False while the store cannot take writes (the journal is in an outage). */
  ready: () => boolean
  /** Why the store cannot take writes, in words (no driver text): for the 503's message. */
  why: (err?: unknown) => string
  /** How long a request waits for its commit. */
  commitTimeoutMs: number
}

/** Throws STORE_UNAVAILABLE (503) while the store cannot take writes: nothing is done. */
export function assertStoreReady (d: Durability | undefined, what: string): void {
  if (d !== undefined && !d.ready()) throw new Errors.StoreUnavailable(`the store cannot take writes now (${d.why()}): ${what}; try again in a moment`)
}

/** Resolves once `saved` does, or throws STORE_UNAVAILABLE after the commit timeout or on a refused commit. */
export async function durableWithin (saved: Promise<void>, d: Durability | undefined, what: string): Promise<void> {
  if (d === undefined) { await saved; return }
  let timer: Deadline | undefined
  try {
    await Promise.race([saved, new Promise<never>((_resolve, reject) => {
      timer = deadline(d.commitTimeoutMs, () => { reject(new Errors.StoreUnavailable(`${what}: the store did not confirm it within ${d.commitTimeoutMs} ms`)) })
    })])
  } catch (err) {
    if (err instanceof Errors.StoreUnavailable) throw err
    throw new Errors.StoreUnavailable(`${what}: the store cannot record it now (${d.why(err)})`)
  } finally {
    timer?.cancel()
  }
}
