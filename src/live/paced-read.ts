// A read for the live feed that many events ask for (the APKT counts after every outcome
// and every delivery): one read at a time, at most one per `everyMs`, and one more after
// it when asked meanwhile, so the last state is always published. Hand-written: a
// throttle library would not also keep reads from overlapping while one is in flight.
export interface PacedRead {
  /** Asks for a read now or, if one ran less than everyMs ago or is running, once after it. */
  ask: () => void
  /** No more reads (a pending one is dropped). */
  stop: () => void
}

export function pacedRead (read: () => Promise<void>, everyMs: number, now: () => number = () => performance.now()): PacedRead {
  let reading = false
  let again = false
  let stopped = false
  let lastRead = -Infinity
  let waiting: NodeJS.Timeout | undefined
  const ask = (): void => {
    if (stopped) return
    if (reading || waiting !== undefined) { again = true; return }
    const wait = lastRead + everyMs - now()
    if (wait > 0) {
      waiting = setTimeout(() => { waiting = undefined; ask() }, wait)
      waiting.unref()
      return
    }
    reading = true
    again = false
    lastRead = now()
    read().catch(() => {}).finally(() => { reading = false; if (again) ask() })
  }
  return { ask, stop: () => { stopped = true; clearTimeout(waiting) } }
}
