// Fault: the service's AMI secret is wrong (real process of src/server.ts, real
// Asterisk). /readyz must say 503 with a reason naming the refused login; the process
// keeps retrying with capped back-off and logs the failure once, not once per attempt;
// when the PBX side is corrected it logs in at the next attempt. Outcomes only: how
// fast the attempts come is the back-off's business (its delays are checked as the
// values it chose, not as wall time).
import t from 'tap'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { TOKENS, baseRawConfig } from '../helpers/config.ts'
import { eventually } from '../helpers/ami.ts'
import { ADMIN_USER, sandboxClient, startSandbox } from '../pbx/fixture.ts'
import { freePort } from '../pbx/sandbox.ts'
import { http, spawnService, stopProc, writeConfig, type LogLine } from './lib.ts'

const WRONG = 'wrong-secret-for-cti-0123'
const INITIAL_MS = 100
const MAX_MS = 800

// The access log's one line per request (src/http/access-log.ts: flat method/url/statusCode), not AMI noise.
const isRequestLog = (l: LogLine): boolean => l.reqId !== undefined && l.method !== undefined && l.statusCode !== undefined
const amiLine = (l: LogLine): boolean => l.module === 'ami'

t.test('wrong AMI credentials: clear readiness reason, back-off, no log spam, recovers when fixed', async t => {
  const sb = await startSandbox(t)
  const { client: admin } = await sandboxClient(t, sb, ADMIN_USER)
  const port = await freePort()
  const raw = baseRawConfig(sb.amiPort)
  raw.http.port = port
  raw.log.level = 'debug' // so the test can count attempts; info and above is what an operator sees
  raw.ami.secret = WRONG
  raw.ami.reconnect = { initialMs: INITIAL_MS, maxMs: MAX_MS }
  const base = `http://127.0.0.1:${port}`
  const p = spawnService({ configFile: writeConfig(raw) })
  t.teardown(() => stopProc(p))

  await eventually('listening', async () => (await http(base, 'GET', '/healthz')).status === 200, 20_000)
  // The reason is for supervisors (GET /v1/status); the public /readyz names AMI only.
  const status = await eventually('/v1/status names the refused login', async () => {
    const r = await http(base, 'GET', '/v1/status', TOKENS.supervisor)
    return r.status === 200 && /login refused/.test(r.body?.ami?.lastError ?? '') ? r : undefined
  }, 10_000)
  t.match(status.body.ami, { ok: false, state: /^(disconnected|connecting)$/, lastError: /^login refused for user "cti": Authentication failed$/ }, `reason: ${status.body.ami.lastError as string}`)
  t.equal(status.body.store.ok, true, 'the store is not blamed')
  t.notMatch(JSON.stringify(status.body), WRONG, 'the secret is not in the answer')
  const ready = await http(base, 'GET', '/readyz')
  t.equal(ready.status, 503)
  t.equal(ready.body.error, 'NOT_READY')
  t.equal(ready.body.checks.ami.ok, false)
  t.equal(ready.body.message, 'not ready: ami', 'the public message names AMI, not the user')
  t.equal(ready.body.checks.store.ok, true, 'the store is not blamed')
  t.notMatch(JSON.stringify(ready.body), 'cti', 'not the user in the public answer')
  t.notMatch(JSON.stringify(ready.body), WRONG, 'nor the secret')

  // Four more attempts. (Asterisk itself holds each refused login for about a second.)
  const from = Date.now()
  const scheduledSince = (): LogLine[] => p.lines().filter(l => l.time >= from && l.msg === 'AMI reconnect scheduled')
  await eventually('four more attempts', async () => scheduledSince().length >= 4, 60_000)
  const window = p.lines().filter(l => l.time >= from)
  const attempts = scheduledSince()
  t.ok(attempts.length >= 4, `kept retrying: ${attempts.length} attempts`)
  t.ok(attempts.every((l, i) => i === 0 || (l.attempt as number) === (attempts[i - 1]?.attempt as number) + 1), `each attempt counted: ${attempts.map(l => l.attempt as number).join(', ')}`)
  for (const l of attempts) {
    // Equal jitter: attempt n waits between half and all of min(max, initial * 2^(n-1)).
    const ceiling = Math.min(MAX_MS, INITIAL_MS * 2 ** ((l.attempt as number) - 1))
    t.ok((l.delayMs as number) >= ceiling / 2 && (l.delayMs as number) <= ceiling, `attempt ${l.attempt as number}: ${l.delayMs as number} ms within [${ceiling / 2}, ${ceiling}]`)
  }
  const loud = window.filter(l => l.level >= 30 && !isRequestLog(l))
  t.same(loud.map(l => l.msg), [], `no info/warn/error lines while retrying the same failure (${attempts.length} attempts)`)
  const refusals = (await sb.log()).split('\n').filter(l => /failed to authenticate as 'cti'/.test(l))
  t.ok(refusals.length >= attempts.length, `Asterisk saw the attempts: ${refusals.length} refused logins in its log`)
  const allLoud = p.lines().filter(l => l.level >= 30 && amiLine(l))
  t.ok(allLoud.length <= 3, `whole run so far: ${allLoud.length} AMI lines at info or above: ${allLoud.map(l => l.msg).join(' | ')}`)
  t.equal(allLoud.filter(l => l.level === 40 && /login refused/.test(l.msg ?? '')).length, 1, 'the refusal is logged once, as a warning')
  t.notMatch(p.out(), WRONG, 'the secret never appears in the log')

  // The PBX side is corrected (the operator sets the secret the service has).
  const conf = path.join(sb.dir, 'etc', 'manager.conf')
  await writeFile(conf, (await readFile(conf, 'utf8')).replace(/^(\[cti\][^[]*?secret = ).*$/m, `$1${WRONG}`))
  // Taken before the reload: Asterisk can accept the service's login before the reload's
  // own answer reaches this test.
  const fixedAt = Date.now()
  await admin.action('Command', { Command: 'manager reload' })
  await eventually('/readyz 200 after the fix', async () => (await http(base, 'GET', '/readyz')).status === 200, 30_000)
  // The log line travels on the child's stdout, apart from the HTTP answer: wait for it.
  await eventually('"AMI connected" logged', async () => p.lines().some(l => l.time >= fixedAt && l.msg === 'AMI connected'), 10_000)
  // At most the one attempt already under way when the fix landed can still be refused.
  const retried = p.lines().filter(l => l.time >= fixedAt && l.msg === 'AMI reconnect scheduled').length
  t.ok(retried <= 1, `logged in at the next attempt (${retried} attempt(s) refused after the fix)`)
  const after = p.lines().filter(l => l.time >= fixedAt && amiLine(l) && l.level >= 30).map(l => l.msg)
  t.ok(after.includes('AMI connected'), 'says it connected, once')
  t.equal(after.filter(m => m === 'AMI connected').length, 1)
})
