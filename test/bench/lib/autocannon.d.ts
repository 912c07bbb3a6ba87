// Just the surface of autocannon 8 (no bundled types) that the benchmarks use.
declare module 'autocannon' {
  interface Histogram { average: number, mean: number, stddev: number, min: number, max: number, p50: number, p90: number, p97_5: number, p99: number, p99_9: number, total?: number }
  interface Result {
    requests: Histogram & { sent: number }
    latency: Histogram
    throughput: Histogram
    errors: number
    timeouts: number
    non2xx: number
    duration: number
    '2xx': number
  }
  interface Options {
    url: string
    method?: string
    headers?: Record<string, string>
    connections?: number
    pipelining?: number
    duration?: number
    amount?: number
    workers?: number
  }
  /** With a callback: the running instance, which stop() ends early (the result still comes). */
  function autocannon (opts: Options, cb: (err: Error | null, result: Result) => void): { stop: () => void }
  function autocannon (opts: Options): Promise<Result>
  export = autocannon
}
