// A wait for an answer (Asterisk's response or event, the store's commit) that gives up
// after `ms`. Node runs due timers before it reads the sockets and worker messages of the
// same loop turn, so after a stall of our own process (a long GC pause, a CPU-starved
// host) a plain setTimeout fires before an answer that came in time, and is waiting
// in the kernel, has been read: a false "Asterisk did not answer", a second QueuePause,
// a 503 for a commit that was done. The verdict is therefore put off by one
// setImmediate: the loop's poll phase, which runs in between, reads what has arrived,
// and the answer's handler settles the wait first. A few lines of Node semantics; no
// timer library decides on I/O this way.

export interface Deadline { cancel: () => void }

/** Calls `onExpiry` once `ms` have passed and the I/O that arrived meanwhile has been read; `cancel` stops it. */
export function deadline (ms: number, onExpiry: () => void): Deadline {
  let immediate: NodeJS.Immediate | undefined
  const timer = setTimeout(() => { immediate = setImmediate(onExpiry) }, ms)
  return {
    cancel: () => {
      clearTimeout(timer)
      if (immediate !== undefined) clearImmediate(immediate)
    }
  }
}
