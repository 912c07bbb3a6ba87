// Fault: SIGTERM (a deploy, systemd stop) while a transfer request is waiting for
// Asterisk's confirmation. The real process of src/server.ts talks to a fake AMI that
// holds the BlindTransfer event back. The request in flight must finish (200), the
// process must then exit 0, and nothing may be half-written: after a restart on the same
// store the call says transferred and its APKT record is there, exactly once.
import t from 'tap'
import path from 'node:path'
import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import Database from 'better-sqlite3'
import { FakeAmi } from '../helpers/fake-ami.ts'
import { baseRawConfig, TOKENS } from '../helpers/config.ts'
import { eventually, waitFor } from '../helpers/ami.ts'
import { Receiver, RECEIVER_TOKEN } from '../helpers/apkt.ts'
import { freePort } from '../pbx/sandbox.ts'
import { asteriskLike, http, sleep, spawnService, stopProc, writeConfig } from './lib.ts'

const HOLD_MS = 1500

t.test('SIGTERM with a transfer waiting for Asterisk: it finishes, exit 0, nothing half-written', async t => {
  let sent = 0
  let confirmedAt = Infinity
  const fake = await FakeAmi.start({ handler: asteriskLike(send => { sent++; setTimeout(() => { confirmedAt = Date.now(); send() }, HOLD_MS) }) })
  t.teardown(() => fake.stop())
  const receiver = await Receiver.start()
  t.teardown(() => receiver.stop())
  const port = await freePort()
  const raw = baseRawConfig(fake.port)
  raw.http.port = port
  raw.log.level = 'info'
  raw.ami.actionTimeoutMs = 4000
  raw.store.path = path.join(mkdtempSync(path.join(os.tmpdir(), 'pln123-term-')), 'cti.db')
  raw.acw = { seconds: 30, mode: 'fixed' }
  // APKT delivery only after the restart (a receiver that is not there yet): the record
  // must have been written by the first process, not sent from memory.
  raw.apkt = { url: receiver.url, token: RECEIVER_TOKEN, timeoutMs: 1000, dispatcher: { pollMs: 100, backoff: { initialMs: 100, maxMs: 200 } } }
  await receiver.down()
  const file = writeConfig(raw)
  const base = `http://127.0.0.1:${port}`
  const first = spawnService({ configFile: file })
  t.teardown(() => stopProc(first))
  await eventually('ready', async () => (await http(base, 'GET', '/readyz')).status === 200, 20_000)
  await waitFor('the resync after login', () => first.lines().some(l => l.msg === 'call state resynced from Asterisk'))

  const callId = 'term-1'
  const agentChannel = 'Local/1001@agents-00000001;1'
  await http(base, 'POST', '/v1/cti/events', TOKENS.pbx, { type: 'call.offered', callId, data: { callerIdNum: '0811970001', customerChannel: 'PJSIP/trunk-1' } })
  await http(base, 'POST', '/v1/cti/events', TOKENS.pbx, { type: 'call.answered', callId, agentId: '1001', data: { agentChannel } })
  t.equal((await http(base, 'POST', `/v1/calls/${callId}/inquiry`, TOKENS.agent1001, { topic: 'activation', customer: { name: 'Budi', salutation: 'Bapak' } })).status, 200)
  t.equal((await http(base, 'POST', `/v1/calls/${callId}/consent`, TOKENS.agent1001, { accepted: true })).status, 200)

  const pending = http(base, 'POST', `/v1/calls/${callId}/direct-transfer`, TOKENS.agent1001, { target: 3 })
  await waitFor('BlindTransfer at the PBX', () => sent === 1)
  await sleep(100)
  first.child.kill('SIGTERM')
  const termAt = Date.now()
  await sleep(100)
  const late = await http(base, 'GET', '/readyz', undefined, undefined, 1000)
  t.not(late.status, 200, `a new request during shutdown is not taken (${late.status === 0 ? 'connection refused' : late.status})`)
  const press = await pending
  t.equal(press.status, 200, `the transfer in flight finished: ${JSON.stringify(press.body)}`)
  t.equal(press.body.transfer?.status, 'completed')
  t.ok(termAt < confirmedAt, 'SIGTERM came while the transfer waited for Asterisk\'s confirmation')
  const exit = await first.exit
  if (process.env.DEBUG_FAULTS) console.error(first.lines().filter(l => l.time >= termAt - 200).map(l => `${l.time - termAt} ${l.module ?? ''} ${l.msg ?? ''} ${JSON.stringify(l.err ?? '')}`).join('\n'))
  t.equal(exit.code, 0, 'then the process exited 0')
  const out = first.lines()
  const msgs = out.map(l => l.msg)
  t.notOk(msgs.includes('forced shutdown'), 'a graceful stop, not one forced by the shutdown limit')
  t.ok(msgs.indexOf('call transferred') >= 0 && msgs.indexOf('call transferred') < msgs.indexOf('stopped'), 'the transfer was recorded before the process stopped')
  t.equal(out.filter(l => l.level >= 50).length, 0, `no error lines: ${out.filter(l => l.level >= 50).map(l => l.msg).join(' | ')}`)

  // The store as the first process left it, read directly.
  const db = new Database(raw.store.path as string, { readonly: true })
  const row = db.prepare('SELECT state, data FROM calls WHERE call_id = ?').get(callId) as { state: string, data: string }
  const recs = db.prepare('SELECT id, status, outcome_key FROM apkt_records WHERE call_id = ?').all(callId) as Array<{ id: string, status: string, outcome_key: string }>
  const acw = db.prepare('SELECT state FROM acw WHERE agent_id = ?').get('1001') as { state: string } | undefined
  db.close()
  t.equal(row.state, 'transferred', 'the call is recorded as transferred')
  t.equal((JSON.parse(row.data) as { transfer?: { status: string } }).transfer?.status, 'completed')
  t.equal(recs.length, 1, 'its APKT record is there, once')
  t.match(recs[0], { status: 'pending', outcome_key: `${callId}:transfer` })
  t.equal(acw?.state, 'active', 'the agent\'s ACW deadline is recorded')

  // Restart on the same store: the same picture, and the record goes out.
  await receiver.up()
  const second = spawnService({ configFile: file })
  t.teardown(() => stopProc(second))
  await eventually('restarted', async () => (await http(base, 'GET', '/healthz')).status === 200, 20_000)
  const view = await http(base, 'GET', `/v1/calls/${callId}`, TOKENS.supervisor)
  t.match(view.body, { state: 'transferred', transfer: { status: 'completed', target: 3 }, apkt: { recordId: recs[0]?.id } })
  await eventually('the record delivered', async () => receiver.accepted.has(recs[0]?.id ?? '') ? true : undefined, 5000)
  t.equal(receiver.accepted.size, 1, 'APKT holds exactly one record')
  t.equal(fake.actionsNamed('BlindTransfer').length, 1, 'one BlindTransfer in all')
  await stopProc(second, 'SIGTERM')
  t.equal((await second.exit).code, 0)
})
