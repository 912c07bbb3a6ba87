// Tokens never reach the log: the whole service logs at trace level through the
// process's own pino options while requests succeed, fail auth, fail validation and
// fail upstream; no configured secret may appear in what was written.
import { Writable } from 'node:stream'
import t from 'tap'
import pino from 'pino'
import { loggerOptions } from '../../src/log.ts'
import { TOKENS } from '../helpers/config.ts'
import { startAppStack } from '../helpers/app-stack.ts'

function capture (): { stream: Writable, text: () => string } {
  const chunks: string[] = []
  const stream = new Writable({ write (chunk, _enc, cb) { chunks.push(String(chunk)); cb() } })
  return { stream, text: () => chunks.join('') }
}

const SECRETS = [...Object.values(TOKENS), 'change-me-cti-secret', 'test-apkt-token']

t.test('no token or secret appears in the service log, whatever the request did', async t => {
  const out = capture()
  const s = await startAppStack(t, { logger: pino(loggerOptions('trace'), out.stream) })
  await s.connectedCall('log-1')
  await s.get('/v1/agents', TOKENS.supervisor) // 200
  await s.post('/v1/calls/log-1/inquiry', TOKENS.agent1001, { topic: 'activation', customer: { name: 'Budi', salutation: 'Bapak' } }) // 200
  await s.post('/v1/calls/log-1/inquiry', TOKENS.agent1001, { topic: 'activation', customer: { name: 'Budi', salutation: 'Bapak' }, extra: 1 }) // 400
  await s.get('/v1/calls/log-1', TOKENS.agent1002) // 403 another agent's call
  await s.get('/metrics', TOKENS.pbx) // 403 role
  await s.get('/v1/agents', 'test-unknown-token-0123456789') // 401
  await s.get('/v1/nowhere', TOKENS.supervisor) // 404
  await s.request('GET', '/v1/agents', { headers: { authorization: `Basic ${TOKENS.supervisor}` } }) // 401
  await s.post('/v1/calls/log-1/consent', TOKENS.agent1001, { accepted: true })
  await s.fake.stop()
  // 503 if the service saw AMI go first, else 409 (sent, then the session lost): a warning either way
  await s.post('/v1/calls/log-1/direct-transfer', TOKENS.agent1001, { target: 3 })
  // A careless log line with the request's headers, as a handler might write one.
  s.svc.app.log.info({ req: { headers: { authorization: `Bearer ${TOKENS.supervisor}` } } }, 'careless')
  s.svc.app.log.info({ request: { headers: { authorization: `Bearer ${TOKENS.pbx}` } } }, 'careless too')
  s.svc.app.log.info({ headers: { authorization: `Bearer ${TOKENS.agent1001}` } }, 'and again')
  await new Promise(resolve => setImmediate(resolve))

  const log = out.text()
  t.match(log, /request completed/, 'requests were logged')
  // One access line per request, with who asked (the token's name) and the outcome.
  const access = log.split('\n').filter(l => l.includes('"request completed"')).map(l => JSON.parse(l) as Record<string, unknown>)
  t.equal(access.length, 12, 'one access line for each of the 12 requests (the call set-up made one)')
  t.notOk(log.includes('incoming request'), 'no second line per request')
  t.match(access.find(a => a.url === '/v1/agents' && a.statusCode === 200), { method: 'GET', who: String, responseTime: Number }, 'the line names who asked')
  t.match(access.find(a => a.url === '/v1/agents' && a.statusCode === 401), { method: 'GET' }, 'refused requests are logged too')
  t.notOk(access.find(a => a.statusCode === 401)?.who, 'no name for an unknown token')
  t.match(log, /AMI action failed|direct transfer failed|direct transfer outcome unknown/, 'the upstream failure was logged')
  t.match(log, /\[redacted\]/, 'the careless lines were redacted')
  for (const secret of SECRETS) t.notOk(log.includes(secret), `the log does not contain ${secret.slice(0, 10)}...`)
})

t.test('control: without the redaction options the same line would leak (the check above can fail)', async t => {
  const out = capture()
  pino({ level: 'info' }, out.stream).info({ req: { headers: { authorization: `Bearer ${TOKENS.supervisor}` } } }, 'careless')
  t.ok(out.text().includes(TOKENS.supervisor))
})
