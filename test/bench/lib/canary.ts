// A noise canary: an idle process that only watches its own event-loop delay. When it
// sees stalls too, the machine (other processes) caused them, not the service.
//   const c = await startCanary(); ...; const { p99Ms, maxMs } = await c.read(); await c.stop()
import { fork } from 'node:child_process'

const SCRIPT = `
const { monitorEventLoopDelay } = require('node:perf_hooks')
const h = monitorEventLoopDelay({ resolution: 5 })
h.enable()
process.on('message', m => {
  process.send({ id: m.id, p99Ms: h.percentile(99) / 1e6, maxMs: h.max / 1e6 })
  h.reset()
})
process.on('disconnect', () => process.exit(0))
setInterval(() => {}, 1000)
`

export interface Canary { read: () => Promise<{ p99Ms: number, maxMs: number }>, stop: () => void }

export async function startCanary (): Promise<Canary> {
  const child = fork('-e', [SCRIPT], { execArgv: [], stdio: ['ignore', 'ignore', 'ignore', 'ipc'] })
  // fork('-e') runs node -e SCRIPT
  let seq = 0
  return {
    read: async () => await new Promise(resolve => {
      const id = ++seq
      const on = (m: { id: number, p99Ms: number, maxMs: number }): void => { if (m.id === id) { child.off('message', on); resolve({ p99Ms: m.p99Ms, maxMs: m.maxMs }) } }
      child.on('message', on)
      child.send({ id })
    }),
    stop: () => { child.disconnect(); child.kill() }
  }
}
