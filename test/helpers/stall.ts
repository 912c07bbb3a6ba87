/**
 * Blocks this process's event loop for `ms`, as a long GC pause or a CPU-starved host
 * would: what arrives meanwhile waits in the kernel until the loop turns again.
 */
export function stall (ms: number): void {
  const until = Date.now() + ms
  while (Date.now() < until) { /* the stall */ }
}
