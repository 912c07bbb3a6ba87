// Child processes for benchmarks: a TypeScript script run with tsx that announces
// "LISTENING <url>" on stderr once it is ready.
import { spawn, type ChildProcess } from 'node:child_process'

export interface Target {
  url: string
  pid: number
  child: ChildProcess
  /** everything it wrote on stderr after LISTENING (warnings, errors) */
  stderr: () => string
  stop: () => Promise<void>
  /** with ipc: sends a request and resolves with the child's answer */
  ask: <T>(msg: Record<string, unknown>) => Promise<T>
}

export async function startTarget (script: string, args: string[] = [], opts: { env?: NodeJS.ProcessEnv, nodeArgs?: string[], stdout?: 'ignore' | 'inherit', timeoutMs?: number, ipc?: boolean } = {}): Promise<Target> {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', script, ...args], {
    stdio: opts.ipc === true ? ['ignore', opts.stdout ?? 'ignore', 'pipe', 'ipc'] : ['ignore', opts.stdout ?? 'ignore', 'pipe'],
    env: { ...process.env, ...opts.env }
  })
  let err = ''
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${script} did not start within ${opts.timeoutMs ?? 30_000} ms:\n${err}`)) }, opts.timeoutMs ?? 30_000)
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString()
      const m = /^LISTENING (\S+)$/m.exec(err)
      if (m?.[1] !== undefined) { clearTimeout(timer); resolve(m[1]) }
    })
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`${script} exited (${code}) before listening:\n${err}`)) })
  })
  let seq = 0
  const ask = async <T>(msg: Record<string, unknown>): Promise<T> => await new Promise<T>((resolve, reject) => {
    const id = ++seq
    const onMsg = (m: { id?: number, result?: T, error?: string }): void => {
      if (m.id !== id) return
      child.off('message', onMsg)
      if (m.error !== undefined) reject(new Error(m.error)); else resolve(m.result as T)
    }
    child.on('message', onMsg)
    child.send({ ...msg, id })
  })
  return {
    url,
    ask,
    pid: child.pid as number,
    child,
    stderr: () => err.slice(err.indexOf('LISTENING')),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const late = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(late)
    }
  }
}
