// Fault: the disk under the SQLite store fills up while the service runs, with real calls
// on the real Asterisk sandbox. The service is a real process of src/server.ts inside
// its own mount namespace (`unshare --mount`) with its store directory on a 4 MB tmpfs;
// the test fills that tmpfs from outside (nsenter) and frees it again. (Remounting it
// read-only is not possible while the database is open for writing: the kernel answers
// EBUSY. Running as root, chmod would not stop a write either. A full disk is the real
// thing: every commit needs new pages and gets SQLITE_FULL.)
//
// While full: every request that must persist answers 503 STORE_UNAVAILABLE, /readyz
// names the store, nothing is sent to Asterisk for a transfer that cannot be recorded,
// and AMI events that cannot be recorded (a hangup, a new call, an ACW deadline) neither
// crash the process nor flood the log. Once space is back: the call picture is healed
// from Asterisk (the call that ended meanwhile is settled, the call that began meanwhile
// is known, the agent whose ACW ended meanwhile is unpaused) and requests succeed.
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

  // Before the fault: A with an agent (activation, consent given), B ended (agent in ACW).
  const a = await onCall('0811960001')
  await eventually('A known', async () => (await api('GET', `/v1/calls/${a.callId}`, TOKENS.supervisor)).status === 200 ? true : undefined)
  t.equal((await api('POST', `/v1/calls/${a.callId}/inquiry`, agentToken(a.agentId), { topic: 'activation', customer: { name: 'Budi', salutation: 'Bapak' } })).status, 200)
  t.equal((await api('POST', `/v1/calls/${a.callId}/consent`, agentToken(a.agentId), { accepted: true })).status, 200)
  const b = await onCall('0811960002')
  await eventually('B known', async () => (await api('GET', `/v1/calls/${b.callId}`, TOKENS.supervisor)).status === 200 ? true : undefined)
  await admin.action('Hangup', { Channel: b.customer })
  await eventually('B agent in ACW', async () => (await api('GET', `/v1/agents/${b.agentId}`, TOKENS.supervisor)).body.state === 'acw' ? true : undefined)
  const acwFrom = Date.now()

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
  t.match(status.body.store.detail, /full/, `/v1/status says why: ${status.body.store.detail as string}`)
  for (const [name, r] of [
    ['inquiry', await api('POST', `/v1/calls/${a.callId}/inquiry`, agentToken(a.agentId), { topic: 'disruption', customer: { name: 'Budi', salutation: 'Bapak' } })],
    ['consent', await api('POST', `/v1/calls/${a.callId}/consent`, agentToken(a.agentId), { accepted: true })],
    ['direct-transfer', await api('POST', `/v1/calls/${a.callId}/direct-transfer`, agentToken(a.agentId), { target: 3 })],
    ['CTI event', await api('POST', '/v1/cti/events', TOKENS.pbx, { type: 'call.offered', callId: 'cti-full-1', data: { callerIdNum: '0811' } })],
    ['ACW extend', await api('POST', `/v1/agents/${b.agentId}/acw`, TOKENS.supervisor, { extendSeconds: 60 })]
  ] as const) {
    t.equal(r.status, 503, `${name}: 503 ${JSON.stringify(r.body)}`)
    t.equal(r.body.error, 'STORE_UNAVAILABLE', `${name}: STORE_UNAVAILABLE (SQLITE_FULL)`)
  }
  t.equal((await api('GET', `/v1/calls/${a.callId}`, TOKENS.supervisor)).body.state, 'connected', 'A still connected, no transfer claimed')
  await sleep(300)
  t.notOk(pbx.some(e => e.event === 'BlindTransfer'), 'no BlindTransfer reached Asterisk')

  // Asterisk keeps going: A's customer hangs up, a new caller C arrives and reaches the
  // freed agent, B's agent's ACW deadline passes. None of it can be recorded.
  await admin.action('Hangup', { Channel: a.customer })
  const c = await onCall('0811960003')
  const untilAcwOver = acwFrom + ACW_SECONDS * 1000 + 500 - Date.now()
  if (untilAcwOver > 0) await sleep(untilAcwOver)
  t.equal(p.exited(), false, 'the process is alive')
  t.equal((await api('GET', '/healthz', TOKENS.supervisor)).status, 200)
  const during = p.lines().filter(l => l.time >= fullFrom)
  const storeErrors = during.filter(l => /store unavailable: changes from Asterisk/.test(l.msg ?? ''))
  t.equal(storeErrors.length, 1, 'the outage is logged once')
  t.match(storeErrors[0], { err: { code: 'SQLITE_FULL' } })
  t.equal(during.filter(l => l.msg === 'AMI event handler failed').length, 0, 'no handler failure escaped to the AMI adapter')
  const errs = during.filter(l => l.level >= 50)
  t.ok(errs.length <= 12, `errors stay few: ${errs.length} error lines over ${Date.now() - fullFrom} ms (${[...new Set(errs.map(l => l.msg))].join(' | ')})`)

  // Space is back.
  inNamespace(p.pid, ['rm', '-f', `${storeDir}/filler`])
  await eventually('/readyz 200', async () => (await http(base, 'GET', '/readyz')).status === 200, 5000)
  const settledA = await eventually('A settled', async () => { const r = await api('GET', `/v1/calls/${a.callId}`, TOKENS.supervisor); return r.body.state === 'ended' ? r.body : undefined }, 5000)
  t.match(settledA.endReason, /could not see it/, 'A: ended while it could not be recorded, settled by the resync')
  const mine = await eventually('C known', async () => { const r = await api('GET', `/v1/agents/${c.agentId}/call`, agentToken(c.agentId)); return r.status === 200 ? r.body : undefined }, 5000)
  t.equal(mine.callId, c.callId, 'C, which began while the disk was full, is known with its agent')
  t.not(c.agentId, b.agentId, 'C went to A\'s agent (B\'s was paused for ACW)')
  t.equal((await api('GET', `/v1/agents/${b.agentId}`, TOKENS.supervisor)).body.state, 'ready', 'B\'s agent: ACW ended (late), not stuck paused')
  const q = await admin.list('QueueStatus', { Queue: 'pln123' })
  t.notOk(q.items.some(i => i.event === 'QueueMember' && i.fields.paused === '1' && i.fields.location === `Local/${b.agentId}@agents/n`), 'Asterisk agrees: B\'s agent unpaused')

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
