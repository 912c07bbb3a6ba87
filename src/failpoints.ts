// Crash-test failpoints: the kill-and-restart tests arm a step by name
// (CTI_FAILPOINTS=acw:saved) and the process SIGKILLs itself when it gets there, so
// "a kill at each step" is a real kill at a known point, not a guess with a timer.
// Unarmed, a failpoint costs one Set lookup.
export type Failpoint = (name: string) => void

export function failpoints (spec: string | undefined): Failpoint | undefined {
  if (spec === undefined || spec.trim() === '') return undefined
  const armed = new Set(spec.split(',').map(s => s.trim()))
  return (name) => {
    if (!armed.has(name)) return
    process.stderr.write(`failpoint ${name}: killing the process\n`)
    process.kill(process.pid, 'SIGKILL')
  }
}
