// The real process (src/server.ts): refuses a bad config before listening, redacts
// secrets from its logs, and shuts down gracefully on SIGTERM.
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import YAML from 'yaml'
import { FakeAmi } from '../helpers/fake-ami.ts'
import { baseRawConfig, TOKENS } from '../helpers/config.ts'
import { waitFor } from '../helpers/ami.ts'
import { freePort } from '../pbx/sandbox.ts'

interface Proc { child: ChildProcess, out: () => string, exit: Promise<number | null> }

function run (configFile: string, env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { ...process.env, CTI_CONFIG: configFile, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { out += d.toString() })
  const exit = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
  return { child, out: () => out, exit }
}

async function portOpen (port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const s = net.connect(port, '127.0.0.1')
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}

t.test('a bad config file: non-zero exit before listening, every bad key named', async t => {
  const port = await freePort()
  const raw = baseRawConfig()
  raw.http.port = port
  raw.ami.port = 'not-a-port'
  raw.acw.mode = 'whenever'
  raw.agents[0].queues = []
  raw.apkt.url = 'ftp://nope'
  raw.bogus = true
  const dir = t.testdir({ 'bad.yaml': YAML.stringify(raw) })
  const p = run(path.join(dir, 'bad.yaml'))
  const code = await p.exit
  t.not(code, 0, 'exit code is not 0')
  for (const key of ['ami.port', 'acw.mode', 'agents[0].queues', 'apkt.url', 'bogus']) t.match(p.out(), key, `names ${key}`)
  t.notMatch(p.out(), /pln123-cti listening/, 'never listened')
  t.equal(await portOpen(port), false)
})

t.test('runs, redacts secrets from its logs, and shuts down cleanly on SIGTERM', async t => {
  const fake = await FakeAmi.start()
  t.teardown(() => fake.stop())
  const raw = baseRawConfig(fake.port)
  const port = await freePort()
  raw.http.port = port
  raw.log.level = 'trace'
  raw.ami.secret = 'super-secret-ami-password'
  const dir = t.testdir({ 'ok.yaml': YAML.stringify(raw) })
  const store = path.join(dir, 'cti.db')
  const p = run(path.join(dir, 'ok.yaml'), { CTI_STORE_PATH: store, CTI_APKT_TOKEN: 'apkt-secret-token-value' })
  t.teardown(() => { p.child.kill('SIGKILL') })
  await waitFor('listening', () => /pln123-cti listening/.test(p.out()), 20_000)
  await waitFor('AMI login', () => fake.actionsNamed('login').length > 0)

  const ready = await fetch(`http://127.0.0.1:${port}/readyz`)
  t.equal(ready.status, 200)
  const authed = await fetch(`http://127.0.0.1:${port}/v1/nothing-here`, { headers: { authorization: `Bearer ${TOKENS.supervisor}` } })
  t.equal(authed.status, 404)
  t.equal(fake.actionsNamed('login')[0]?.headers.secret, 'super-secret-ami-password', 'the secret was sent to AMI')

  p.child.kill('SIGTERM')
  const code = await p.exit
  t.equal(code, 0, 'exits 0 after a graceful shutdown')
  const out = p.out()
  t.match(out, /shutting down/)
  t.match(out, /"msg":"stopped"/)
  t.equal(fake.actionsNamed('logoff').length, 1, 'logged off AMI politely')
  for (const secret of ['super-secret-ami-password', 'apkt-secret-token-value', TOKENS.supervisor, TOKENS.pbx]) {
    t.notOk(out.includes(secret), `log never shows ${secret.slice(0, 6)}...`)
  }
  t.ok(existsSync(store), 'the store file is on disk')
  t.notOk(existsSync(`${store}-wal`), 'the store was closed cleanly (WAL checkpointed and removed)')
})

t.test('secrets may come from the environment only', async t => {
  const fake = await FakeAmi.start()
  t.teardown(() => fake.stop())
  const raw = baseRawConfig(fake.port)
  delete raw.ami.secret
  delete raw.apkt.token
  delete raw.auth
  raw.http.port = await freePort()
  const dir = t.testdir({ 'nosecrets.yaml': YAML.stringify(raw) })
  const p = run(path.join(dir, 'nosecrets.yaml'), {
    CTI_AMI_SECRET: 'env-ami-secret',
    CTI_APKT_TOKEN: 'env-apkt-token',
    CTI_AUTH_TOKENS: JSON.stringify([{ token: 'env-supervisor-token-xyz', role: 'supervisor' }]),
    CTI_STORE_PATH: path.join(dir, 'cti.db')
  })
  t.teardown(() => { p.child.kill('SIGKILL') })
  await waitFor('AMI login', () => fake.actionsNamed('login').length > 0, 20_000)
  t.equal(fake.actionsNamed('login')[0]?.headers.secret, 'env-ami-secret')
  p.child.kill('SIGTERM')
  t.equal(await p.exit, 0)
})
