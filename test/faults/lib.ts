// Shared parts of the fault tests (test/faults/*.test.ts): the service as a real child
// process of src/server.ts (optionally inside a private mount namespace with its store
// on a small tmpfs), its JSON log lines, HTTP helpers, and a fake-AMI handler that
// answers like Asterisk for the actions the service sends.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import YAML from 'yaml'
import { listAnswer, type Handler } from '../helpers/fake-ami.ts'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

export interface LogLine { level: number, msg?: string, time: number, module?: string, req?: unknown, res?: unknown, [k: string]: unknown }

export interface Proc {
  child: ChildProcess
  pid: number
  out: () => string
  /** stdout parsed as pino JSON lines (non-JSON lines skipped) */
  lines: () => LogLine[]
  exit: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  exited: () => boolean
}

export interface SpawnOpts {
  configFile: string
  env?: Record<string, string>
  failpoints?: string
  /** Run inside `unshare --mount` with this directory on a tmpfs of this size (e.g. '4m'). */
  tmpfs?: { dir: string, size: string }
}

/** Writes a config file (YAML) into a fresh temp directory and returns its path. */
export function writeConfig (raw: Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pln123-faults-'))
  const file = path.join(dir, 'config.yaml')
  writeFileSync(file, YAML.stringify(raw))
  return file
}

/**
 * Starts src/server.ts as its own process. `setpriv --pdeathsig KILL` takes it down if
 * the test process dies; unshare (without --fork) and bash exec in place, so
 * `pid` is the node process itself (SIGKILL/SIGTERM and nsenter aim at it).
 */
export function spawnService (o: SpawnOpts): Proc {
  const node = [process.execPath, '--import', 'tsx', 'src/server.ts']
  const argv = o.tmpfs === undefined
    ? ['setpriv', '--pdeathsig', 'KILL', ...node]
    : ['setpriv', '--pdeathsig', 'KILL', 'unshare', '--mount', '--propagation', 'private', 'bash', '-c',
        'mount -t tmpfs -o size="$1" tmpfs "$2" && shift 2 && exec "$@"', 'bash', o.tmpfs.size, o.tmpfs.dir, ...node]
  const child = spawn(argv[0] as string, argv.slice(1), {
    cwd: ROOT,
    env: { ...process.env, CTI_CONFIG: o.configFile, ...(o.failpoints !== undefined ? { CTI_FAILPOINTS: o.failpoints } : {}), ...o.env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  let err = ''
  child.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { err += d.toString() })
  let done = false
  const exit = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>(resolve => child.once('exit', (code, signal) => { done = true; resolve({ code, signal }) }))
  return {
    child,
    pid: child.pid as number,
    out: () => out + (err !== '' ? `\n--- stderr ---\n${err}` : ''),
    lines: () => out.split('\n').flatMap(l => { if (!l.startsWith('{')) return []; try { return [JSON.parse(l) as LogLine] } catch { return [] } }),
    exit,
    exited: () => done
  }
}

export async function stopProc (p: Proc, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (p.exited()) return
  p.child.kill(signal)
  await p.exit
}

export interface HttpAnswer { status: number, body: any, ms: number }

/** One HTTP request; a network error (process down) answers status 0. */
export async function http (base: string, method: 'GET' | 'POST', url: string, token?: string, body?: unknown, timeoutMs = 15_000): Promise<HttpAnswer> {
  const t0 = Date.now()
  try {
    const res = await fetch(`${base}${url}`, {
      method,
      headers: { ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(timeoutMs)
    })
    const text = await res.text()
    let parsed: unknown = text
    try { parsed = JSON.parse(text) } catch {}
    return { status: res.status, body: parsed, ms: Date.now() - t0 }
  } catch (err) {
    return { status: 0, body: { error: 'NETWORK', message: (err as Error).message }, ms: Date.now() - t0 }
  }
}

export async function isReady (base: string): Promise<boolean> {
  return (await http(base, 'GET', '/readyz', undefined, undefined, 2000)).status === 200
}

export const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** The pid listening on a TCP port of the loopback (Asterisk's AMI port), seen from the host. */
export function listenerPid (port: number): number {
  const r = spawnSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' })
  const m = /pid=(\d+)/.exec(r.stdout)
  if (m?.[1] === undefined) throw new Error(`nothing listens on ${port}: ${r.stdout}${r.stderr}`)
  return Number(m[1])
}

/** Runs a command inside the mount namespace of `pid` (e.g. to fill its private tmpfs). */
export function inNamespace (pid: number, cmd: string[]): { status: number | null, out: string } {
  const r = spawnSync('nsenter', ['--target', String(pid), '--mount', '--', ...cmd], { encoding: 'utf8' })
  return { status: r.status, out: `${r.stdout}${r.stderr}` }
}

/**
 * A fake-AMI handler answering like Asterisk: QueuePause with QueueMemberPause,
 * list actions (CoreShowChannels, QueueStatus) with an empty list, and BlindTransfer
 * through `onBlindTransfer` (which decides when the BlindTransfer event goes out).
 */
export function asteriskLike (onBlindTransfer?: (send: () => void, fields: Record<string, string>) => void, channels: () => Array<Record<string, string>> = () => []): Handler {
  return (a, sock) => {
    const h = a.headers
    const id = h.actionid ?? ''
    const name = (h.action ?? '').toLowerCase()
    if (name === 'queuepause') {
      const paused = /^(1|true|yes)$/i.test(h.paused ?? '')
      sock.write(`Response: Success\r\nActionID: ${id}\r\nMessage: Interface paused successfully\r\n\r\n`)
      sock.write(`Event: QueueMemberPause\r\nQueue: pln123\r\nInterface: ${h.interface ?? ''}\r\nMemberName: ${h.interface ?? ''}\r\nStatus: 1\r\nPaused: ${paused ? 1 : 0}\r\nPausedReason: ${paused ? h.reason ?? '' : ''}\r\n\r\n`)
      return true
    }
    if (name === 'coreshowchannels' || name === 'queuestatus') {
      sock.write(listAnswer(id, name, channels()))
      return true
    }
    if (name === 'blindtransfer') {
      sock.write(`Response: Success\r\nActionID: ${id}\r\nMessage: Transfer succeeded\r\n\r\n`)
      const send = (): void => {
        if (sock.destroyed) return
        sock.write(`Event: BlindTransfer\r\nResult: Success\r\nTransfererChannel: ${h.channel ?? ''}\r\nTransfereeChannel: PJSIP/trunk-x\r\nContext: ${h.context ?? ''}\r\nExtension: ${h.exten ?? ''}\r\n\r\n`)
      }
      if (onBlindTransfer !== undefined) onBlindTransfer(send, h); else send()
      return true
    }
    return false
  }
}
