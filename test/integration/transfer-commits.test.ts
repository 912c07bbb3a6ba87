// What a press of the transfer button costs the store, counted in the WAL on disk:
// one durable commit before the BlindTransfer ("transferring" with ACW's hold) and one
// after Asterisk's confirmation (the outcome with its APKT record, the ACW deadline
// and the audit entry), each a fsync with synchronous FULL. Each write must still be
// there, and in that order: the hold before the QueuePause, everything before the 200.
import net from 'node:net'
import t from 'tap'
import Database from 'better-sqlite3'
import { TOKENS } from '../helpers/config.ts'
import { asteriskWorks, startAppStack } from '../helpers/app-stack.ts'
import { walCommits } from '../helpers/wal.ts'

t.test('a press: one commit before the BlindTransfer, one after the confirmation, all of it recorded', async t => {
  // An APKT receiver that never answers: no delivery result is written during the press.
  const silent = net.createServer(() => {})
  await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { silent.close() })
  const apktPort = (silent.address() as net.AddressInfo).port
  let dbPath = ''
  const atPause: number[] = []
  const atTransfer: number[] = []
  const s = await startAppStack(t, {
    edit: raw => { raw.apkt.url = `http://127.0.0.1:${apktPort}/apkt/records`; raw.acw = { seconds: 60, mode: 'fixed' } },
    handler: (a, sock, f) => {
      if (a.headers.action === 'QueuePause') atPause.push(walCommits(`${dbPath}-wal`))
      if (a.headers.action === 'BlindTransfer') atTransfer.push(walCommits(`${dbPath}-wal`))
      return asteriskWorks(a, sock, f)
    }
  })
  dbPath = s.svc.config.store.path
  await s.connectedCall('wal-1')
  t.equal((await s.post('/v1/calls/wal-1/inquiry', TOKENS.agent1001, { topic: 'activation', customer: { name: 'Budi', salutation: 'Bapak' } })).status, 200)
  t.equal((await s.post('/v1/calls/wal-1/consent', TOKENS.agent1001, { accepted: true })).status, 200)

  const before = walCommits(`${dbPath}-wal`)
  t.ok(before > 0, 'the WAL holds the set-up commits (the count reads the real file)')
  const res = await s.post('/v1/calls/wal-1/direct-transfer', TOKENS.agent1001, { target: 3 })
  const after = walCommits(`${dbPath}-wal`)
  t.equal(res.status, 200, res.text)
  t.same(atPause, [before + 1], 'QueuePause went out after exactly one commit: "transferring" and the hold together')
  t.same(atTransfer, [before + 1], 'BlindTransfer went out after the same commit')
  t.equal(after - before, 2, 'one more commit after the confirmation: outcome, APKT record, ACW deadline and audit entry together')

  // All of it is in the file, read by another connection.
  const db = new Database(dbPath, { readonly: true })
  t.teardown(() => { db.close() })
  const call = JSON.parse((db.prepare('SELECT data FROM calls WHERE call_id = ?').get('wal-1') as { data: string }).data) as { state: string, apkt?: { recordId: string } }
  t.equal(call.state, 'transferred')
  t.ok(call.apkt?.recordId, 'the call names its APKT record')
  t.match(db.prepare('SELECT status FROM apkt_records WHERE id = ?').get(call.apkt?.recordId), { status: 'pending' }, 'the APKT record is in the outbox')
  t.match(db.prepare('SELECT state, ends_at FROM acw WHERE agent_id = ?').get('1001'), { state: 'active', ends_at: String }, 'the ACW deadline is recorded')
  const audit = db.prepare("SELECT details FROM audit WHERE action = 'call.direct-transfer' AND target = ?").all('wal-1') as Array<{ details: string }>
  t.equal(audit.length, 1, 'one audit entry for the press')
  t.match(JSON.parse(audit[0]?.details ?? '{}'), { target: 3, result: 'completed' })

  // The agent is in ACW, counted from the transfer, and the 200 named the transfer.
  t.match(res.body, { transfer: { status: 'completed', target: 3 } })
  const agents = (await s.get('/v1/agents', TOKENS.supervisor)).body as Array<{ id: string, state: string, acwEndsAt?: string }>
  t.match(agents.find(a => a.id === '1001'), { state: 'acw', acwEndsAt: String })
})
