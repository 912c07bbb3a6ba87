// GET /metrics after real traffic through the whole service: calls by topic, transfers
// by result with their latency, agents by state, ACW durations, the APKT outbox, AMI
// state and reconnects, event-loop lag. One registry per service. And the audit trail
// records a supervisor's APKT retry.
import t from 'tap'
import { FakeAmi } from '../helpers/fake-ami.ts'
import { TOKENS } from '../helpers/config.ts'
import { waitFor } from '../helpers/ami.ts'
import { asteriskWorks, startAppStack } from '../helpers/app-stack.ts'
import { openApktFile } from '../helpers/apkt.ts'

/** The value of one sample, e.g. metric(text, 'pln123_agents', { state: 'acw' }); undefined when absent. */
function metric (text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$/.exec(line)
    if (m === null || m[1] !== name) continue
    const have = Object.fromEntries([...(m[3] ?? '').matchAll(/([a-zA-Z_]+)="([^"]*)"/g)].map(x => [x[1], x[2]]))
    if (Object.entries(labels).every(([k, v]) => have[k] === v) && Object.keys(have).length === Object.keys(labels).length) return Number(m[4])
  }
  return undefined
}

t.test('metrics follow real traffic', async t => {
  const s = await startAppStack(t, { handler: asteriskWorks, edit: raw => { raw.acw.seconds = 1 } })
  const scrape = async (): Promise<string> => {
    const r = await s.get('/metrics', TOKENS.supervisor)
    t.equal(r.status, 200)
    t.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/)
    return r.text
  }
  t.equal((await s.get('/metrics', TOKENS.pbx)).status, 403, 'supervisors only')
  t.equal((await s.get('/metrics', TOKENS.agent1001)).status, 403, 'supervisors only')

  let m = await scrape()
  t.equal(metric(m, 'pln123_ami_connected'), 1, 'AMI connected')
  t.equal(metric(m, 'pln123_agents', { state: 'offline' }), 2, 'both agents offline at start')
  t.equal(metric(m, 'pln123_apkt_oldest_pending_age_seconds'), 0)
  t.ok(metric(m, 'pln123_event_loop_lag_seconds', { stat: 'mean' }) !== undefined, 'event-loop lag is exported')
  t.ok((metric(m, 'pln123_process_memory_bytes', { kind: 'rss' }) ?? 0) > 0)

  // A coverage call that ends, a transfer refused for want of consent, then one that lands.
  await s.connectedCall('m-1')
  await s.post('/v1/calls/m-1/inquiry', TOKENS.agent1001, { topic: 'coverage', customer: { name: 'Sari', salutation: 'Ibu' }, area: 'Cilincing' })
  await s.post('/v1/cti/events', TOKENS.pbx, { type: 'call.ended', callId: 'm-1' })
  await waitFor('ACW of the first call over', () => s.svc.acw.entry('1001') === undefined, 5000)
  await s.connectedCall('m-2')
  m = await scrape()
  t.equal(metric(m, 'pln123_agents', { state: 'on_call' }), 1, 'agent 1001 on a call')
  await s.post('/v1/calls/m-2/inquiry', TOKENS.agent1001, { topic: 'activation', customer: { name: 'Budi', salutation: 'Bapak' } })
  t.equal((await s.post('/v1/calls/m-2/direct-transfer', TOKENS.agent1001, { target: 3 })).status, 409, 'no consent yet')
  await s.post('/v1/calls/m-2/consent', TOKENS.agent1001, { accepted: true })
  t.equal((await s.post('/v1/calls/m-2/direct-transfer', TOKENS.agent1001, { target: 3 })).status, 200)
  t.equal((await s.post('/v1/calls/m-2/direct-transfer', TOKENS.agent1001, { target: 3 })).status, 409, 'a second press')

  m = await scrape()
  t.equal(metric(m, 'pln123_calls_total', { topic: 'coverage', outcome: 'ended' }), 1)
  t.equal(metric(m, 'pln123_calls_total', { topic: 'activation', outcome: 'transferred' }), 1)
  t.equal(metric(m, 'pln123_transfers_total', { result: 'completed' }), 1)
  t.equal(metric(m, 'pln123_transfers_total', { result: 'CONSENT_REQUIRED' }), 1)
  t.equal(metric(m, 'pln123_transfers_total', { result: 'ALREADY_TRANSFERRED' }), 1)
  t.equal(metric(m, 'pln123_transfer_duration_seconds_count', { result: 'completed' }), 1, 'latency of the transfer that reached Asterisk')
  t.equal(metric(m, 'pln123_transfer_duration_seconds_count', { result: 'CONSENT_REQUIRED' }), undefined, 'refusals before Asterisk are not latency')
  const latency = metric(m, 'pln123_transfer_duration_seconds_sum', { result: 'completed' }) ?? -1
  t.ok(latency > 0, `the transfer's duration is recorded (${latency} s)`)
  t.equal(metric(m, 'pln123_agents', { state: 'acw' }), 1, 'agent 1001 in ACW after the transfer')
  t.ok((metric(m, 'pln123_apkt_outbox_records', { status: 'pending' }) ?? 0) >= 1, 'APKT records waiting (the receiver is unreachable)')
  t.ok((metric(m, 'pln123_apkt_oldest_pending_age_seconds') ?? 0) > 0, 'and how long the oldest has waited')

  await waitFor('the second ACW over', () => s.svc.acw.entry('1001') === undefined, 5000)
  m = await scrape()
  t.equal(metric(m, 'pln123_acw_duration_seconds_count'), 2, 'both ACWs observed')
  const acwSum = metric(m, 'pln123_acw_duration_seconds_sum') ?? 0
  // Never shorter than configured (1 s each); how much longer is the machine's speed.
  t.ok(acwSum >= 1.9, `ACW lasted at least 1 s each (${acwSum} s in all)`)
  t.equal(metric(m, 'pln123_acw_duration_seconds_bucket', { le: '+Inf' }), 2)

  // AMI lost, then back: the gauge follows and the reconnect is counted.
  const port = s.fake.port
  const lost = new Promise(resolve => s.svc.ami.once('disconnected', resolve))
  await s.fake.stop()
  await lost
  m = await scrape()
  t.equal(metric(m, 'pln123_ami_connected'), 0, 'AMI down')
  t.equal(metric(m, 'pln123_ami_reconnects_total'), 0)
  const again = await FakeAmi.start({ handler: asteriskWorks }, port)
  t.teardown(() => again.stop())
  await waitFor('AMI back', () => s.svc.ami.ready, 5000)
  m = await scrape()
  t.equal(metric(m, 'pln123_ami_connected'), 1, 'AMI up again')
  t.equal(metric(m, 'pln123_ami_reconnects_total'), 1, 'one reconnect')
})

t.test('each service has its own registry', async t => {
  const a = await startAppStack(t)
  const b = await startAppStack(t)
  await a.connectedCall('r-1')
  await a.post('/v1/cti/events', TOKENS.pbx, { type: 'call.ended', callId: 'r-1' })
  const ma = (await a.get('/metrics', TOKENS.supervisor)).text
  const mb = (await b.get('/metrics', TOKENS.supervisor)).text
  t.equal(metric(ma, 'pln123_calls_total', { topic: 'unclassified', outcome: 'ended' }), 1)
  t.equal(metric(mb, 'pln123_calls_total', { topic: 'unclassified', outcome: 'ended' }), undefined, 'the other service saw no call')
})

t.test('a supervisor\'s APKT retry is in the audit trail: who, what, when', async t => {
  const s = await startAppStack(t, { handler: asteriskWorks })
  await s.svc.dispatcher.stop(500) // the record stays as this test leaves it
  await s.connectedCall('a-1')
  await s.post('/v1/calls/a-1/inquiry', TOKENS.agent1001, { topic: 'billing', customer: { name: 'Sari', salutation: 'Ibu' }, subscribedViaPlnMobile: true })
  await s.post('/v1/cti/events', TOKENS.pbx, { type: 'call.ended', callId: 'a-1' })
  const rec = (await s.svc.outbox.list({ limit: 10 })).find(e => e.callId === 'a-1')
  if (rec === undefined) throw new Error('no APKT record for the ended call')
  await s.svc.outbox.markDead(rec.id, 'HTTP 400: unitPelayanan unknown')
  let m = (await s.get('/metrics', TOKENS.supervisor)).text
  t.equal(metric(m, 'pln123_apkt_outbox_records', { status: 'dead' }), 1, 'the dead record is counted')

  const retriedFrom = Math.floor(Date.now() / 1000) * 1000 // as coarse as a timestamp may be
  const retried = await s.post(`/v1/apkt/records/${rec.id}/retry`, TOKENS.supervisor)
  t.equal(retried.status, 200)
  const audit = await s.get('/v1/audit', TOKENS.supervisor)
  t.equal(audit.status, 200)
  const entry = (audit.body.entries as Array<{ action: string, target: string, actor: string, role: string, at: string, details: Record<string, unknown> }>).find(e => e.action === 'apkt.retry')
  t.ok(entry, 'the retry is audited')
  t.match(entry, { actor: 'supervisor', role: 'supervisor', target: rec.id, details: { callId: 'a-1', lastError: 'HTTP 400: unitPelayanan unknown' } })
  const at = Date.parse(entry?.at ?? '')
  t.ok(at >= retriedFrom && at <= Date.now(), `with when: the time of the retry (${entry?.at ?? ''})`)
  t.equal((await s.post(`/v1/apkt/records/${rec.id}/retry`, TOKENS.supervisor)).status, 409, 'a record that is not dead cannot be retried')
  t.equal((await s.get('/v1/audit', TOKENS.supervisor)).body.entries.filter((e: { action: string }) => e.action === 'apkt.retry').length, 1, 'a refused retry is not recorded as one')
  m = (await s.get('/metrics', TOKENS.supervisor)).text
  t.equal(metric(m, 'pln123_apkt_outbox_records', { status: 'dead' }), 0)
  t.equal(metric(m, 'pln123_apkt_outbox_records', { status: 'pending' }), 1)
})

t.test('an outcome the store refused is counted once, when it is finally recorded', async t => {
  const s = await startAppStack(t, { handler: asteriskWorks })
  const count = async (): Promise<number | undefined> => metric((await s.get('/metrics', TOKENS.supervisor)).text, 'pln123_calls_total', { topic: 'unclassified', outcome: 'ended' })
  await s.connectedCall('m-refused')
  // The store refuses to record the end once, then takes it: a trigger put on the service's
  // file through a connection of its own (the service's store exposes no SQL).
  t.equal(s.svc.store.kind, 'sqlite')
  const raw = openApktFile(s.svc.store.where)
  t.teardown(() => raw.close())
  raw.db.exec("CREATE TRIGGER refuse_end BEFORE UPDATE ON calls WHEN NEW.state = 'ended' BEGIN SELECT RAISE(ABORT, 'refused for the test'); END")
  const refused = await s.post('/v1/cti/events', TOKENS.pbx, { type: 'call.ended', callId: 'm-refused' })
  t.not(refused.status, 202, 'the end was not recorded')
  t.equal(await count(), undefined, 'and not counted')
  raw.db.exec('DROP TRIGGER refuse_end')
  t.equal((await s.post('/v1/cti/events', TOKENS.pbx, { type: 'call.ended', callId: 'm-refused' })).status, 202)
  t.equal(await count(), 1, 'counted once, when recorded')
})
