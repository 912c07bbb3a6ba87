// A real Asterisk 22 for tests and the demo (see ../shared/PBX_SANDBOX.md).
// Each instance runs in its own mount+pid namespace from a shared, cached Debian sid
// root, with a per-instance copy of config/asterisk and a free AMI port, so tap can
// run several test files at once and nothing survives the instance.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { MissingPartError, type Probed } from '../helpers/real-parts.ts'

const here = path.dirname(fileURLToPath(import.meta.url))
export const projectRoot = path.resolve(here, '..', '..')
export const sandboxRoot = process.env.PBX_ROOT ?? '/var/cache/pln123-cti/asterisk-root'

export interface AmiCredentials { username: string, secret: string }

/** The service's least-privilege user, exactly as in config/asterisk/manager.conf. */
export const CTI_USER: AmiCredentials = { username: 'cti', secret: 'change-me-cti-secret' }
/** A test-only user with every right (Originate, Hangup), added to the sandbox copy only. */
export const ADMIN_USER: AmiCredentials = { username: 'sandbox', secret: 'sandbox-admin-secret' }

/**
 * Why the sandbox cannot run on this machine (not root; no cached root and none could
 * be built), or undefined when it can. Builds the cached root if it is missing.
 */
export function sandboxMissing (): string | undefined {
  if (process.getuid?.() !== 0) return 'the Asterisk sandbox needs root (unshare, mount, chroot)'
  if (existsSync(path.join(sandboxRoot, '.pln123-cti-ready'))) return undefined
  const r = spawnSync('bash', [path.join(here, 'build-root.sh')], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, PBX_ROOT: sandboxRoot }
  })
  // With the opt-out the script exits 0 without a root: the marker decides.
  if (r.status !== 0 || !existsSync(path.join(sandboxRoot, '.pln123-cti-ready'))) return `cannot build the Asterisk sandbox root at ${sandboxRoot} (test/pbx/build-root.sh: ${r.status === 0 ? 'no root made' : `exit ${r.status ?? r.signal}`})`
  return undefined
}

/** For needPart: the sandbox can run, or why not (a test that checks first can then skip, with the opt-out). */
export async function probeSandbox (): Promise<Probed<true>> {
  const missing = sandboxMissing()
  return missing === undefined ? { value: true } : { missing }
}

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
  })
}

const live = new Set<ChildProcess>()
// A test process that exits without stopping its sandbox must not leave Asterisk behind.
process.once('exit', () => { for (const c of live) c.kill('SIGKILL') })

export class PbxSandbox {
  readonly amiPort: number
  readonly dir: string
  private child: ChildProcess | undefined
  private exited: Promise<void> = Promise.resolve()

  private constructor (amiPort: number, dir: string) {
    this.amiPort = amiPort
    this.dir = dir
  }

  /** `config`: extra or replaced files for this instance's etc/asterisk (e.g. a queues.conf with 20 members). */
  static async start (opts: { amiPort?: number, config?: Record<string, string> } = {}): Promise<PbxSandbox> {
    const missing = sandboxMissing()
    // Fails naming the part; with the opt-out it still fails, since a test that is
    // already running cannot turn into a skip: such a test checks first (needPart).
    if (missing !== undefined) throw new MissingPartError('asterisk', missing)
    const amiPort = opts.amiPort ?? await freePort()
    const dir = await mkdtemp(path.join(os.tmpdir(), 'pln123-pbx-'))
    await writeInstanceConfig(dir, amiPort, opts.config)
    const sb = new PbxSandbox(amiPort, dir)
    await sb.boot()
    return sb
  }

  get running (): boolean { return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null }

  private async boot (): Promise<void> {
    const child = spawn('setpriv', [
      '--pdeathsig', 'KILL', // dies with us even if we are SIGKILLed
      'unshare', '--mount', '--pid', '--fork', '--kill-child', '--propagation', 'private',
      'bash', path.join(here, 'start-instance.sh'), sandboxRoot, this.dir
    ], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
    live.add(child)
    this.child = child
    this.exited = new Promise(resolve => child.once('exit', () => { live.delete(child); resolve() }))
    try {
      await waitFullyBooted(this.amiPort, child, 20_000)
    } catch (err) {
      child.kill('SIGKILL')
      await this.exited
      const log = await this.log().catch(() => '')
      throw new Error(`Asterisk sandbox did not boot: ${(err as Error).message}\n${stderr}\n${log.slice(-2000)}`)
    }
  }

  /** Asterisk's own process (the child of unshare), for a clean SIGTERM. */
  asteriskPid (): number | undefined {
    const pid = this.child?.pid
    if (pid === undefined) return undefined
    const r = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }) // setpriv execs unshare: same pid
    const first = r.stdout.trim().split('\n')[0]
    return first ? Number(first) : undefined
  }

  /** Clean shutdown: SIGTERM to Asterisk; SIGKILL to unshare if it lingers. */
  async stop (): Promise<void> {
    if (!this.running) return
    const pid = this.asteriskPid()
    if (pid !== undefined) { try { process.kill(pid, 'SIGTERM') } catch {} }
    const timedOut = await Promise.race([this.exited.then(() => false), sleep(5000).then(() => true)])
    if (timedOut) { this.child?.kill('SIGKILL'); await this.exited }
  }

  /** Crash: the whole namespace dies at once, as when the PBX host loses power. */
  async kill (): Promise<void> {
    if (!this.running) return
    this.child?.kill('SIGKILL')
    await this.exited
  }

  /** Same port, same config: what the service sees when Asterisk restarts. */
  async restart (): Promise<void> {
    await this.stop()
    await this.boot()
  }

  async start (): Promise<void> {
    if (!this.running) await this.boot()
  }

  async log (): Promise<string> {
    return await readFile(path.join(this.dir, 'log', 'messages.log'), 'utf8')
  }

  /** Stops Asterisk and removes the instance's files (kept when PBX_KEEP is set). */
  async destroy (): Promise<void> {
    await this.stop()
    if (process.env.PBX_KEEP === undefined) await rm(this.dir, { recursive: true, force: true })
  }
}

async function writeInstanceConfig (dir: string, amiPort: number, extra: Record<string, string> = {}): Promise<void> {
  const etc = path.join(dir, 'etc')
  await cp(path.join(projectRoot, 'config', 'asterisk'), etc, { recursive: true })
  for (const [name, text] of Object.entries(extra)) await writeFile(path.join(etc, path.basename(name)), text)
  await mkdir(path.join(dir, 'log'), { recursive: true })
  const managerPath = path.join(etc, 'manager.conf')
  const manager = (await readFile(managerPath, 'utf8')).replace(/^port = \d+$/m, `port = ${amiPort}`)
  await writeFile(managerPath, manager + `
; --- sandbox only: a user for test drivers (Originate, Hangup, ...) ---
[${ADMIN_USER.username}]
secret = ${ADMIN_USER.secret}
read = all
write = all
`)
}

function sleep (ms: number): Promise<void> { return new Promise(resolve => setTimeout(resolve, ms)) }

/**
 * Waits until Asterisk accepts an AMI login and reports FullyBooted (it sends that
 * event to every new session once booted), retrying the port until it listens.
 */
async function waitFullyBooted (port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = 'AMI port not open'
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`asterisk exited (${child.exitCode ?? child.signalCode})`)
    try {
      await probeOnce(port, Math.max(500, deadline - Date.now()))
      return
    } catch (err) {
      last = (err as Error).message
      await sleep(100)
    }
  }
  throw new Error(`timed out after ${timeoutMs} ms: ${last}`)
}

async function probeOnce (port: number, timeoutMs: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1')
    let buf = ''
    const done = (err?: Error): void => {
      clearTimeout(timer)
      sock.destroy()
      if (err) reject(err); else resolve()
    }
    const timer = setTimeout(() => done(new Error('no FullyBooted yet')), timeoutMs)
    sock.setEncoding('utf8')
    sock.on('error', err => done(err))
    sock.on('close', () => done(new Error('closed before FullyBooted')))
    sock.on('data', (d: string) => {
      buf += d
      if (buf.startsWith('Asterisk Call Manager') && !buf.includes('Action')) {
        buf = buf.slice(buf.indexOf('\n') + 1)
        sock.write(`Action: Login\r\nUsername: ${ADMIN_USER.username}\r\nSecret: ${ADMIN_USER.secret}\r\nEvents: system\r\n\r\n`)
        buf = 'Action' + buf // mark the greeting as handled
      }
      if (buf.includes('Event: FullyBooted')) done()
      else if (/Response: Error/.test(buf)) done(new Error(buf.trim()))
    })
  })
}
