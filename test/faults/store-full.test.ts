// Fault: the disk under the SQLite store fills up while the service runs, with real calls
// on the real Asterisk sandbox. The service is a real process of src/server.ts inside
// its own mount namespace (`unshare --mount`) with its store directory on a 4 MB tmpfs;
// the test fills that tmpfs from outside (nsenter) and frees it again. (Remounting it
// read-only is not possible while the database is open for writing: the kernel answers
// EBUSY. Running as root, chmod would not stop a write either. A full disk is the real
// thing: every commit needs new pages and gets SQLITE_FULL.)
//
// While full: once the journal knows (its first commit failed), every request that must
// persist answers 503 STORE_UNAVAILABLE at once with nothing done, /readyz names the
// store until the changes kept meanwhile are written, nothing is sent to Asterisk for a
// transfer that cannot be recorded, and AMI events (hangups, a new call, an ACW deadline)
// are kept in order, neither crashing the process nor flooding the log. Once space is
// back: what was kept is written (the call that ended meanwhile gets its APKT record,
// the call that began meanwhile is known, ACW's deadline held) and requests succeed.
import t from 'tap'
import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { baseRawConfig, TOKENS } from '../helpers/config.ts'
import { eventually } from '../helpers/ami.ts'
import type { AmiEvent } from '../../src/ami/index.ts'
import { ADMIN_USER, placeCall, sandboxClient, startSandbox } from '../pbx/fixture.ts'
import { freePort } from '../pbx/sandbox.ts'
import { http, inNamespace, sleep, spawnService, stopProc, writeConfig } from './lib.ts'

const ACW_SECONDS = 4
const agentToken = (id: string): string => id === '1001' ? TOKENS.agent1001 : TOKENS.agent1002

t.test('disk full under the store: 503s, no crash, healed from Asterisk when space is back', async t => {
  const sb = await startSandbox(t)
  const { client: admin } = await sandboxClient(t, sb, ADMIN_USER)
  const pbx: AmiEvent[] = []
  admin.on('event', e => pbx.push(e))
  const storeDir = mkdtempSync(path.join(os.tmpdir(), 'pln123-full-'))
  const port = await freePort()
  const raw = baseRawConfig(sb.amiPort)
  raw.http.port = port
  raw.log.level = 'info'
  raw.store.path = path.join(storeDir, 'cti.db')
  raw.acw = { seconds: ACW_SECONDS, mode: 'fixed' }
  const base = `http://127.0.0.1:${port}`
  const p = spawnService({ configFile: writeConfig(raw), tmpfs: { dir: storeDir, size: '4m' } })
  t.teardown(() => stopProc(p))
  await eventually('ready', async () => (await http(base, 'GET', '/readyz')).status === 200, 20_000).catch((err: Error) => { throw new Error(`${err.message}\n${p.out().slice(-3000)}`) })
  const api = async (method: 'GET' | 'POST', url: string, token: string, body?: unknown) => await http(base, method, url, token, body)
  const onCall = async (caller: string): Promise<{ callId: string, agentId: string, customer: string }> => {
    await placeCall(admin, caller)
    const ac = await eventually(`call ${caller} at an agent`, async () => pbx.find(e => e.event === 'AgentConnect' && e.fields.calleridnum === caller), 15_000)
    const agentId = /Local\/(\d+)@/.exec(ac.fields.interface ?? '')?.[1] as string
    return { callId: ac.fields.linkedid ?? '', agentId, customer: ac.fields.channel ?? '' }
  }

  // Before the fault: A with an agent (activation, consent given), B with the other
  // agent (billing: educated, its APKT record is made when it ends).
  const a = await onCall('0811960001')
  await eventually('A known', async () => (await api('GET', `/v1/calls/${a.callId}`, TOKENS.supervisor)).status === 200 ? true : undefined)
  t.equal((await api('POST', `/v1/calls/${a.callId}/inquiry`, agentToken(a.agentId), { topic: 'activation', customer: { name: 'Budi', salutation: 'Bapak' } })).status, 200)
  t.equal((await api('POST', `/v1/calls/${a.callId}/consent`, agentToken(a.agentId), { accepted: true })).status, 200)
  const b = await onCall('0811960002')
  await eventually('B known', async () => (await api('GET', `/v1/calls/${b.callId}`, TOKENS.supervisor)).status === 200 ? true : undefined)
  t.equal((await api('POST', `/v1/calls/${b.callId}/inquiry`, agentToken(b.agentId), { topic: 'billing', customer: { name: 'Rina', salutation: 'Ibu' } })).status, 200)

  // Fill the tmpfs (inside the service's namespace; invisible on the host).
  const fill = inNamespace(p.pid, ['dd', 'if=/dev/zero', `of=${storeDir}/filler`, 'bs=64k'])
  t.match(fill.out, /No space left/, 'the store\'s file system is full')
  const fullFrom = Date.now()

  // /readyz checks the store at most once a second: the first answer may predate the fill.
  const ready = await eventually('/readyz 503', async () => { const r = await api('GET', '/readyz', TOKENS.supervisor); return r.status === 503 ? r : undefined }, 3000)
  t.equal(ready.body.checks.store.ok, false)
  t.equal(ready.body.message, 'not ready: store', '/readyz names the store')
  t.equal(ready.body.checks.ami.ok, true)
  const status = await api('GET', '/v1/status', TOKENS.supervisor)
  const detail = String(status.body.store.detail)
  // The engine's check says why; once the journal knows of the outage its own words are shown.
  t.match(detail, /full/, `/v1/status says why: ${detail}`)

  // Asterisk keeps going: B's customer hangs up. The journal cannot write it: it keeps
  // it, and from now on knows the store is away.
  await admin.action('Hangup', { Channel: b.customer })
  await eventually('the journal in an outage', async () => /waiting to be written/.test(String((await api('GET', '/v1/status', TOKENS.supervisor)).body.store.detail)) ? true : undefined, 5000)
  const bEnded = Date.now()
  t.equal((await api('GET', `/v1/calls/${b.callId}`, TOKENS.supervisor)).body.state, 'ended', 'B ended in the live picture at once')

  for (const [name, r] of [
    ['inquiry', await api('POST', `/v1/calls/${a.callId}/inquiry`, agentToken(a.agentId), { topic: 'disruption', customer: { name: 'Budi', salutation: 'Bapak' } })],
    ['consent', await api('POST', `/v1/calls/${a.callId}/consent`, agentToken(a.agentId), { accepted: true })],
    ['direct-transfer', await api('POST', `/v1/calls/${a.callId}/direct-transfer`, agentToken(a.agentId), { target: 3 })],
    ['CTI event', await api('POST', '/v1/cti/events', TOKENS.pbx, { type: 'call.offered', callId: 'cti-full-1', data: { callerIdNum: '0811' } })]
  ] as const) {
    t.equal(r.status, 503, `${name}: 503 ${JSON.stringify(r.body)}`)
    t.equal(r.body.error, 'STORE_UNAVAILABLE', `${name}: STORE_UNAVAILABLE`)
    t.ok(r.ms < 2000, `${name}: refused at once (${r.ms} ms), nothing done`)
  }
  const aView = (await api('GET', `/v1/calls/${a.callId}`, TOKENS.supervisor)).body
  t.match(aView, { state: 'connected', topic: 'activation' }, 'A still connected, as it was: no transfer claimed, the refused inquiry not applied')
  await sleep(300)
  t.notOk(pbx.some(e => e.event === 'BlindTransfer'), 'no BlindTransfer reached Asterisk')

  // More from Asterisk: A's customer hangs up, a new caller C arrives and reaches an
  // agent, B's agent's ACW deadline passes. All of it kept until the disk takes writes.
  await admin.action('Hangup', { Channel: a.customer })
  const c = await onCall('0811960003')
  const untilAcwOver = bEnded + ACW_SECONDS * 1000 + 500 - Date.now()
  if (untilAcwOver > 0) await sleep(untilAcwOver)
  t.equal(p.exited(), false, 'the process is alive')
  t.equal((await api('GET', '/healthz', TOKENS.supervisor)).status, 200)
  const stillDown = await api('GET', '/readyz', TOKENS.supervisor)
  t.equal(stillDown.status, 503, '/readyz says store until the kept changes are written')
  t.equal(stillDown.body.message, 'not ready: store')
  const during = p.lines().filter(l => l.time >= fullFrom)
  const storeErrors = during.filter(l => /store unavailable: changes are kept in order/.test(l.msg ?? ''))
  t.equal(storeErrors.length, 1, 'the outage is logged once')
  t.match(storeErrors[0], { err: { code: 'SQLITE_FULL' } })
  t.equal(during.filter(l => l.msg === 'AMI event handler failed').length, 0, 'no handler failure escaped to the AMI adapter')
  const errs = during.filter(l => l.level >= 50)
  t.ok(errs.length <= 12, `errors stay few: ${errs.length} error lines over ${Date.now() - fullFrom} ms (${[...new Set(errs.map(l => l.msg))].join(' | ')})`)

  // Space is back: the journal writes what it kept (it retries with a growing pause, up to 5 s).
  inNamespace(p.pid, ['rm', '-f', `${storeDir}/filler`])
  await eventually('/readyz 200', async () => (await http(base, 'GET', '/readyz')).status === 200, 15_000)
  t.ok(p.lines().some(l => /store writable again/.test(l.msg ?? '')), 'says the store is back')
  const settledA = await eventually('A ended', async () => { const r = await api('GET', `/v1/calls/${a.callId}`, TOKENS.supervisor); return r.body.state === 'ended' ? r.body : undefined }, 5000)
  t.notMatch(settledA.endReason ?? '', /could not see it/, `A: ended by its own hangup, kept through the outage (${settledA.endReason as string})`)
  const recs = await eventually('B\'s APKT record', async () => {
    const r = await api('GET', '/v1/apkt/records?limit=100', TOKENS.supervisor)
    const mine = (r.body.records as Array<{ callId: string }>).filter(x => x.callId === b.callId)
    return mine.length > 0 ? mine : undefined
  }, 5000)
  t.equal(recs.length, 1, 'B, ended while the disk was full, got exactly one APKT record after it')
  const mine = await eventually('C known', async () => { const r = await api('GET', `/v1/agents/${c.agentId}/call`, agentToken(c.agentId)); return r.status === 200 ? r.body : undefined }, 5000)
  t.equal(mine.callId, c.callId, 'C, which began while the disk was full, is known with its agent')
  // ACW is enforced: B's agent's ACW ran its time (during the outage) and is over, not
  // left paused by a pause sent once its start was recorded.
  // (While the store was away B's agent was not paused at Asterisk: the pause waits for
  // the deadline to be durable, so C may have reached that agent.)
  await sleep(1000)
  if (c.agentId !== b.agentId) t.equal((await api('GET', `/v1/agents/${b.agentId}`, TOKENS.supervisor)).body.state, 'ready', 'B\'s agent: ACW over, ready')
  const q = await admin.list('QueueStatus', { Queue: 'pln123' })
  t.notOk(q.items.some(i => i.event === 'QueueMember' && i.fields.paused === '1' && i.fields.location === `Local/${b.agentId}@agents/n`), 'Asterisk agrees: B\'s agent not left paused')

  // Requests succeed again, on the real PBX.
  t.equal((await api('POST', `/v1/calls/${c.callId}/inquiry`, agentToken(c.agentId), { topic: 'disruption', customer: { name: 'Rina', salutation: 'Ibu' } })).status, 200)
  t.equal((await api('POST', `/v1/calls/${c.callId}/consent`, agentToken(c.agentId), { accepted: true })).status, 200)
  const press = await api('POST', `/v1/calls/${c.callId}/direct-transfer`, agentToken(c.agentId), { target: 3 })
  t.equal(press.status, 200, `transfer works again: ${JSON.stringify(press.body)}`)
  const arrived = await eventually('C at ICONNET', async () => pbx.find(e => e.event === 'UserEvent' && e.fields.userevent === 'IconnetArrived' && e.fields.linkedid === c.callId))
  t.equal(arrived.fields.calleridnum, '0811960003')
  t.equal(pbx.filter(e => e.event === 'BlindTransfer').length, 1, 'one BlindTransfer in the whole run')
  t.ok(p.lines().some(l => /store writable again/.test(l.msg ?? '')), 'says the store is back')
  await stopProc(p, 'SIGTERM')
  t.equal((await p.exit).code, 0, 'clean shutdown afterwards')
})
