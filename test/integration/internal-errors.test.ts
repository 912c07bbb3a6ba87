// An unexpected error's own text (a driver's SQLITE_... message, an ENOENT with a
// path, the AMI host and user in a connection error) never reaches a client: an
// unknown error is 500 INTERNAL naming the request id, a store outage is 503
// STORE_UNAVAILABLE in words, an AMI outage 503 AMI_UNAVAILABLE without the reason.
// The log line, found by that request id, has the details.
import t from 'tap'
import pino from 'pino'
import Database from 'better-sqlite3'
import { TOKENS } from '../helpers/config.ts'
import { startAppStack } from '../helpers/app-stack.ts'

function recordingLogger (): { logger: pino.Logger, lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = []
  const logger = pino({ level: 'info' }, { write: (s: string) => { lines.push(JSON.parse(s) as Record<string, any>) } })
  return { logger, lines }
}

const PATH = '/var/lib/pln123-cti/secret-dir/cti.db'

t.test('a dependency throws a driver error with a path: 500 INTERNAL with the request id; the log has the text', async t => {
  const { logger, lines } = recordingLogger()
  const s = await startAppStack(t, { logger })
  for (const [name, err] of [
    ['SQLite', Object.assign(new Error(`SQLITE_ERROR: no such table: apkt_outbox (while reading ${PATH})`), { code: 'SQLITE_ERROR' })],
    ['ENOENT', Object.assign(new Error(`ENOENT: no such file or directory, open '${PATH}'`), { code: 'ENOENT', errno: -2, path: PATH })],
    ['plain', new Error(`SQLITE_MISUSE at ${PATH}`)]
  ] as const) {
    s.svc.outbox.list = async () => { throw err } // as the store's queries fail: a rejected promise
    const r = await s.get('/v1/apkt/records', TOKENS.supervisor)
    t.equal(r.status, 500, `${name}: 500`)
    t.equal(r.body.error, 'INTERNAL', `${name}: code INTERNAL, not the driver's`)
    t.match(r.body.requestId, /\S/, `${name}: names the request`)
    t.equal(r.body.message, `internal error (request ${r.body.requestId as string})`)
    t.notMatch(r.text, /SQLITE|ENOENT|secret-dir|\/var\//, `${name}: neither the driver text nor the path reach the client`)
    const logged = lines.find(l => l.reqId === r.body.requestId && l.msg === 'request failed')
    t.ok(logged, `${name}: a log line for that request`)
    t.match(logged?.err?.message, err.message, `${name}: the log line has the details`)
  }
})

t.test('store unavailable: 503 STORE_UNAVAILABLE says why in words, without the driver text or path', async t => {
  const { logger, lines } = recordingLogger()
  const s = await startAppStack(t, { logger })
  for (const [code, words] of [['SQLITE_READONLY', /read-only/], ['SQLITE_FULL', /disk is full/], ['SQLITE_IOERR_WRITE', /I\/O error/]] as const) {
    s.svc.outbox.list = async () => { throw new Database.SqliteError(`attempt to write a readonly database ${PATH}`, code) }
    const r = await s.get('/v1/apkt/records', TOKENS.supervisor)
    t.equal(r.status, 503)
    t.equal(r.body.error, 'STORE_UNAVAILABLE', `${code}: the code stays`)
    t.match(r.body.message, words, `${code}: says why`)
    t.notMatch(r.text, /SQLITE|readonly database|secret-dir/, `${code}: no driver text, no path`)
    const logged = lines.find(l => l.msg === 'store unavailable: request not completed' && l.err?.code === code)
    t.match(logged?.err, { code, message: new RegExp(PATH) }, `${code}: the log has the driver's code and text`)
  }
})

t.test('a change the store refuses (a bug, not an outage): the CTI event answers 503 without the driver text', async t => {
  const { logger, lines } = recordingLogger()
  const s = await startAppStack(t, { logger })
  const store = s.svc.store
  const real = store.commit.bind(store)
  const driverText = `UNIQUE constraint failed: calls.call_id (${PATH})`
  store.commit = async changes => {
    if (changes.some(c => c.kind === 'call' && c.call.callId === 'refused-1')) throw new Database.SqliteError(driverText, 'SQLITE_CONSTRAINT_UNIQUE')
    await real(changes)
  }
  const r = await s.post('/v1/cti/events', TOKENS.pbx, { type: 'call.offered', callId: 'refused-1', data: { callerIdNum: '0811', customerChannel: 'PJSIP/trunk-refused-1' } })
  t.equal(r.status, 503, 'not recorded: the PBX is told to try again')
  t.equal(r.body.error, 'STORE_UNAVAILABLE')
  t.notMatch(r.text, /SQLITE|UNIQUE|constraint|calls\.call_id|secret-dir|\/var\//, `no driver text, no path: ${r.body.message as string}`)
  t.ok(lines.some(l => l.err?.message === driverText || l.err?.message?.includes?.(driverText)), 'the log has the driver text')
})

t.test('AMI down: 503 AMI_UNAVAILABLE without the AMI host, port or user', async t => {
  const s = await startAppStack(t)
  await s.connectedCall('ami-down-1')
  await s.post('/v1/calls/ami-down-1/inquiry', TOKENS.agent1001, { topic: 'activation', customer: { name: 'Budi', salutation: 'Bapak' } })
  await s.post('/v1/calls/ami-down-1/consent', TOKENS.agent1001, { accepted: true })
  const lost = new Promise(resolve => s.svc.ami.once('disconnected', resolve))
  const port = s.fake.port
  await s.fake.stop()
  await lost
  const r = await s.post('/v1/calls/ami-down-1/direct-transfer', TOKENS.agent1001, { target: 3 })
  t.equal(r.status, 503)
  t.equal(r.body.error, 'AMI_UNAVAILABLE')
  t.match(r.body.message, /not connected to the PBX/, 'says what it means for the client')
  t.notMatch(r.body.message, new RegExp(`127\\.0\\.0\\.1|${port}|ECONN|"cti"`), `no host, port or user: ${r.body.message as string}`)
})
