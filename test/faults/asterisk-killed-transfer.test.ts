// Fault: Asterisk dies (SIGKILL of the whole sandbox) while a BlindTransfer is in flight.
// The transfer request must answer (never hang: the tap timeout is the only time limit;
// never claim success): 409 TRANSFER_OUTCOME_UNKNOWN when the action had left (Asterisk
// may have done it), 503/502 when it had not or was refused. The per-call lock must be
// released, the adapter must not replay the action when Asterisk is back, and a new call
// must transfer normally afterwards.
import t, { type Test } from 'tap'
import { TOKENS } from '../helpers/config.ts'
import { eventually, waitFor } from '../helpers/ami.ts'
import { startStack, type Stack } from '../pbx/harness.ts'
import pino from 'pino'
import { createService } from '../../src/service.ts'
import { FakeAmi } from '../helpers/fake-ami.ts'
import { testConfig } from '../helpers/config.ts'
import { asteriskLike, listenerPid, sleep } from './lib.ts'

const ACTION_TIMEOUT_MS = 3000

interface Sent { name: string, fields: Record<string, unknown>, result: string }

/** Records every action the service sends and how it ended (ok or the error code). */
function recordActions (s: Stack): Sent[] {
  const log: Sent[] = []
  const inner = s.svc.ami.action.bind(s.svc.ami)
  s.svc.ami.action = async (name, fields = {}, opts = {}) => {
    const rec: Sent = { name, fields, result: 'pending' }
    log.push(rec)
    try {
      const r = await inner(name, fields, opts)
      rec.result = 'ok'
      return r
    } catch (err) {
      rec.result = (err as { code?: string }).code ?? 'error'
      throw err
    }
  }
  return log
}

async function readyCall (s: Stack, caller: string): Promise<{ callId: string, agentId: string, token: string, agentChannel: string }> {
  const c = await s.call(caller)
  const inq = await s.http('POST', `/v1/calls/${c.callId}/inquiry`, c.token, { topic: 'activation', customer: { name: 'Budi', salutation: 'Bapak' } })
  if (inq.status !== 200) throw new Error(`inquiry: ${inq.status} ${JSON.stringify(inq.body)}`)
  const con = await s.http('POST', `/v1/calls/${c.callId}/consent`, c.token, { accepted: true })
  if (con.status !== 200) throw new Error(`consent: ${con.status} ${JSON.stringify(con.body)}`)
  return { ...c, agentChannel: s.svc.tracker.get(c.callId)?.agentChannel ?? '' }
}

/** After Asterisk is back: the old call is settled as ended, a retry on it is refused, a new call transfers. */
/**
 * Asterisk's uniqueid (and so Linkedid, our callId) is "<unix second>.<counter>" and the
 * counter restarts with Asterisk: a call placed in the same wall-clock second as one
 * before the kill can get the very same id. A real restart takes seconds; the sandbox
 * boots in half of one, so the tests let the second roll over before the next call.
 */
async function afterSecondOf (ms: number): Promise<void> {
  const next = (Math.floor(ms / 1000) + 1) * 1000 + 20
  if (Date.now() < next) await sleep(next - Date.now())
}

async function afterRecovery (t: Test, s: Stack, sent: Sent[], first: { callId: string, token: string, agentChannel: string }, caller: string, killedAt: number): Promise<void> {
  await afterSecondOf(killedAt)
  await s.sb.start()
  await waitFor('the service logged in again', () => s.svc.ami.ready, 15_000)
  await waitFor('the admin session back', () => s.admin.ready, 15_000)
  const settled = await waitFor('the first call settled by the resync', () => { const c = s.svc.tracker.get(first.callId); return c?.state === 'ended' ? c : undefined }, 10_000)
  t.match(settled.endReason, /could not see it/, 'the first call ended while the service could not see it (Asterisk died with it)')
  const retry = await s.http('POST', `/v1/calls/${first.callId}/direct-transfer`, first.token, { target: 3 })
  t.equal(retry.status, 409, 'a press on the dead call after recovery: 409')
  t.equal(retry.body.error, 'CALL_NOT_CONNECTED')

  const next = await readyCall(s, caller)
  const sentForNext = sent.length
  const press = await s.http('POST', `/v1/calls/${next.callId}/direct-transfer`, next.token, { target: 3 })
  t.equal(press.status, 200, `a new call transfers after recovery: ${JSON.stringify(press.body)}`)
  const arrived = await waitFor('the new customer at ICONNET', () => s.pbxEvents.find(e => e.event === 'UserEvent' && e.fields.userevent === 'IconnetArrived' && e.fields.linkedid === next.callId))
  t.equal(arrived.fields.calleridnum, caller)
  await s.admin.action('Hangup', { Channel: arrived.fields.channel ?? '' })

  // Never a second transfer of the first call: the adapter wrote exactly one
  // BlindTransfer for its agent leg (the one lost with Asterisk; AMI_UNAVAILABLE means
  // refused before a byte was written), and the new Asterisk saw none for it.
  // (Channel names repeat after an Asterisk restart, so count by when they were sent.)
  const reached = sent.slice(0, sentForNext).filter(a => a.name === 'BlindTransfer' && a.fields.Channel === first.agentChannel && a.result !== 'AMI_UNAVAILABLE')
  t.equal(reached.length, 1, `one BlindTransfer of the first call reached a socket (${reached.map(r => r.result).join(', ')})`)
  t.notOk(s.pbxEvents.some(e => (e.event === 'BlindTransfer' && e.fields.transfereelinkedid === first.callId) || (e.event === 'UserEvent' && e.fields.userevent === 'IconnetArrived' && e.fields.linkedid === first.callId)),
    'Asterisk never transferred the first call')
  const agents = await s.http('GET', '/v1/agents', TOKENS.supervisor)
  t.notOk((agents.body as Array<{ state: string, callId?: string }>).some(a => a.callId === first.callId), 'no agent is left on the dead call')
}

t.test('Asterisk frozen with the BlindTransfer unread, then SIGKILLed', async t => {
  const s = await startStack(t, raw => {
    raw.acw = { seconds: 2, mode: 'fixed' }
    raw.ami.actionTimeoutMs = ACTION_TIMEOUT_MS
  })
  const sent = recordActions(s)
  const first = await readyCall(s, '0811930001')

  // SIGSTOP: Asterisk takes the BlindTransfer into its socket buffer and never runs it,
  // so the outcome is really "in flight" when the kill comes.
  const pid = listenerPid(s.sb.amiPort)
  process.kill(pid, 'SIGSTOP')
  t.teardown(() => { try { process.kill(pid, 'SIGCONT') } catch {} })
  const t0 = Date.now()
  const pending = s.http('POST', `/v1/calls/${first.callId}/direct-transfer`, first.token, { target: 3 })
  await waitFor('BlindTransfer written', () => sent.find(a => a.name === 'BlindTransfer'))
  await sleep(300)
  t.equal(s.svc.tracker.get(first.callId)?.state, 'transferring', 'in flight: the call is transferring')
  await s.sb.kill()
  const killedAt = Date.now()
  const press = await pending
  const ms = Date.now() - t0
  t.equal(press.status, 409, `answered ${press.status} ${JSON.stringify(press.body)}`)
  t.equal(press.body.error, 'TRANSFER_OUTCOME_UNKNOWN')
  t.match(press.body.message, /outcome is unknown/, 'says the outcome is unknown')
  t.match(press.body.transfer, { status: 'pending', target: 3 }, 'with the attempt')
  t.comment(`answered after ${ms} ms`)

  const call = s.svc.tracker.get(first.callId)
  // Sent, then the connection died: Asterisk may have done it. The call says so (still
  // transferring, outcome unknown) until the resync after the reconnect settles it.
  t.equal(call?.state, 'transferring', 'outcome unknown: not claimed connected')
  t.match(call?.transfer, { status: 'pending', message: /outcome is unknown/ })
  // The lock is released: a second press is answered at once, it does not wait on the
  // first; it is refused because the first one's outcome is unknown.
  const again = await s.http('POST', `/v1/calls/${first.callId}/direct-transfer`, first.token, { target: 3 })
  t.equal(again.status, 409, 'lock released: a second press is answered at once')
  t.equal(again.body.error, 'TRANSFER_OUTCOME_UNKNOWN')
  t.equal(again.body.transfer?.at, press.body.transfer?.at, 'naming the first attempt')
  const ready = await s.http('GET', '/readyz', TOKENS.supervisor)
  t.equal(ready.status, 503)
  t.equal(ready.body.message, 'not ready: ami', '/readyz names AMI')
  t.match((await s.http('GET', '/v1/status', TOKENS.supervisor)).body.ami, { ok: false, state: /^(disconnected|connecting)$/ }, '/v1/status says how')

  await afterRecovery(t, s, sent, first, '0811930002', killedAt)
})

t.test('press and SIGKILL race (no freeze), three rounds: an honest answer in time, lock released, no replay', async t => {
  const s = await startStack(t, raw => {
    raw.acw = { seconds: 2, mode: 'fixed' }
    raw.ami.actionTimeoutMs = ACTION_TIMEOUT_MS
  })
  const sent = recordActions(s)
  const seen: number[] = []
  const firsts: Array<{ callId: string, agentChannel: string, from: number, to: number, reaching: number }> = []
  for (let round = 0; round < 3; round++) {
    const first = await readyCall(s, `08119300${10 + round}`)
    const mark = { ...first, from: sent.length, to: sent.length, reaching: 1 }
    firsts.push(mark)
    // The kill lands somewhere between "before the action is written" and "after
    // Asterisk ran it": each outcome must be answered honestly.
    const delay = [0, 3, 10][round] as number + Math.floor(Math.random() * 5)
    const t0 = Date.now()
    const pending = s.http('POST', `/v1/calls/${first.callId}/direct-transfer`, first.token, { target: 3 })
    await sleep(delay)
    await s.sb.kill()
    const killedAt = Date.now()
    const press = await pending
    const ms = Date.now() - t0
    seen.push(press.status)
    // Refused before it was written (the kill came first): none of this press reached Asterisk.
    if (press.body.error === 'AMI_UNAVAILABLE') mark.reaching = 0
    t.comment(`round ${round} (kill after ${delay} ms): answered ${press.status} ${(press.body.error as string | undefined) ?? ''} in ${ms} ms`)
    const state = s.svc.tracker.get(first.callId)?.state
    if (press.status === 200) {
      t.equal(state, 'transferred', 'a 200 only with the transfer recorded (Asterisk confirmed before it died)')
    } else {
      t.ok([409, 502, 503].includes(press.status), `409/502/503, got ${press.status}`)
      t.ok(['TRANSFER_OUTCOME_UNKNOWN', 'AMI_UNAVAILABLE', 'TRANSFER_FAILED'].includes(press.body.error as string), press.body.message as string)
      // Not sent (AMI_UNAVAILABLE) or refused: connected. Sent and lost: outcome unknown.
      t.equal(state, press.body.error === 'TRANSFER_OUTCOME_UNKNOWN' ? 'transferring' : 'connected', `state ${state ?? ''} tells what is known`)
      const again = await s.http('POST', `/v1/calls/${first.callId}/direct-transfer`, first.token, { target: 3 })
      t.equal(again.body.error, state === 'transferring' ? 'TRANSFER_OUTCOME_UNKNOWN' : 'AMI_UNAVAILABLE', 'lock released: the retry is answered on its own')
    }
    await afterSecondOf(killedAt)
    await s.sb.start()
    await waitFor('the service logged in again', () => s.svc.ami.ready, 15_000)
    await waitFor('the admin session back', () => s.admin.ready, 15_000)
    await eventually('first call settled', async () => ['ended', 'transferred'].includes(s.svc.tracker.get(first.callId)?.state ?? '') && s.svc.tracker.get(first.callId)?.endedAt !== undefined ? true : undefined, 10_000)
    mark.to = sent.length
  }
  t.comment(`answers seen: ${seen.join(', ')}`)
  // Whatever the race gave, after recovery a new call transfers and nothing was replayed.
  const next = await readyCall(s, '0811930020')
  const ok = await s.http('POST', `/v1/calls/${next.callId}/direct-transfer`, next.token, { target: 3 })
  t.equal(ok.status, 200, `a new call transfers after recovery: ${JSON.stringify(ok.body)}`)
  // Nothing was replayed: between a press and the next round, (channel names repeat
  // after an Asterisk restart, so count by when they were sent) one BlindTransfer
  // reached a socket, none when the press was refused before writing (AMI_UNAVAILABLE).
  for (const f of firsts) {
    const reached = sent.slice(f.from, f.to).filter(a => a.name === 'BlindTransfer' && a.result !== 'AMI_UNAVAILABLE')
    t.equal(reached.length, f.reaching, `${f.reaching} BlindTransfer of ${f.callId} reached Asterisk (${reached.map(r => r.result).join(', ')})`)
  }
  t.equal(sent.slice(firsts.at(-1)?.to).filter(a => a.name === 'BlindTransfer').length, 1, 'after recovery, only the new call\'s BlindTransfer was sent')
})

// The AMI connection drops while Asterisk itself stays up (a network blip, an AMI
// restart): the fake AMI answers like Asterisk and drops the session around the
// BlindTransfer. After the reconnect the resync must tell what really happened.
t.test('AMI connection lost around the BlindTransfer, Asterisk alive: the resync tells the truth', async t => {
  for (const when of ['after Asterisk did it', 'before Asterisk did it'] as const) {
    await t.test(when, async t => {
      const done = when === 'after Asterisk did it'
      let drop = true
      const channels: Array<Record<string, string>> = [
        { Channel: 'Local/1001@agents-00000001;1', Linkedid: 'lost-1', BridgeId: 'b1', Application: 'AppDial', Context: 'agents', Exten: '1001', CallerIDNum: '1001', CallerIDName: '' },
        { Channel: 'PJSIP/trunk-1', Linkedid: 'lost-1', BridgeId: 'b1', Application: 'Queue', Context: 'inbound', Exten: '123', CallerIDNum: '0811931001', CallerIDName: 'X' }
      ]
      const fake = await FakeAmi.start({
        handler: asteriskLike((send) => {
          if (!drop) { send(); return }
          drop = false
          if (done) channels.splice(0, 2, { Channel: 'PJSIP/trunk-1', Linkedid: 'lost-1', BridgeId: '', Application: 'Wait', Context: 'direct-transfer', Exten: '3', CallerIDNum: '0811931001', CallerIDName: 'X' })
          setTimeout(() => { fake.dropAll() }, 20) // the ack went out; the event never will
        }, () => channels)
      })
      const svc = await createService(testConfig(fake.port, raw => { raw.ami.actionTimeoutMs = ACTION_TIMEOUT_MS; raw.ami.reconnect = { initialMs: 200, maxMs: 400 } }), pino({ level: 'silent' }))
      t.teardown(async () => { await svc.stop(); await fake.stop() })
      await svc.start()
      await waitFor('AMI', () => svc.ami.ready)
      await sleep(100) // the resync after login
      const inject = async (url: string, token: string, body: unknown): Promise<{ status: number, body: any }> => {
        const r = await svc.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${token}` }, payload: body as object })
        return { status: r.statusCode, body: r.json() }
      }
      await inject('/v1/cti/events', TOKENS.pbx, { type: 'call.offered', callId: 'lost-1', data: { callerIdNum: '0811931001', customerChannel: 'PJSIP/trunk-1' } })
      await inject('/v1/cti/events', TOKENS.pbx, { type: 'call.answered', callId: 'lost-1', agentId: '1001', data: { agentChannel: 'Local/1001@agents-00000001;1' } })
      await inject('/v1/calls/lost-1/inquiry', TOKENS.agent1001, { topic: 'activation', customer: { name: 'Budi', salutation: 'Bapak' } })
      await inject('/v1/calls/lost-1/consent', TOKENS.agent1001, { accepted: true })
      const t0 = Date.now()
      const press = await inject('/v1/calls/lost-1/direct-transfer', TOKENS.agent1001, { target: 3 })
      const ms = Date.now() - t0
      t.equal(press.status, 409, `409: ${JSON.stringify(press.body)}`)
      t.equal(press.body.error, 'TRANSFER_OUTCOME_UNKNOWN', `after ${ms} ms`)
      // Answered on the loss, not after the confirmation timeout: the message says the session dropped.
      t.match(press.body.message, /connection to the PBX \(AMI\) dropped while BlindTransfer was in flight/)
      t.equal(svc.tracker.get('lost-1')?.state, 'transferring', 'outcome unknown until the PBX shows it')
      t.equal(svc.acw.entry('1001')?.state, 'holding', 'the agent stays held meanwhile')
      await waitFor('reconnected', () => svc.ami.ready && svc.ami.status().connects >= 2, 5000)
      const settled = await waitFor('settled by the resync', () => { const c = svc.tracker.get('lost-1'); return c?.state !== 'transferring' ? c : undefined }, 3000)
      const again = await inject('/v1/calls/lost-1/direct-transfer', TOKENS.agent1001, { target: 3 })
      if (done) {
        t.equal(settled?.state, 'transferred', 'the customer is at ICONNET: transferred')
        t.ok(settled?.apkt?.recordId !== undefined, 'with its APKT record')
        t.equal(again.status, 409, 'a new press is refused')
        t.equal(again.body.error, 'ALREADY_TRANSFERRED')
        t.equal(fake.actionsNamed('BlindTransfer').length, 1, 'no second BlindTransfer')
      } else {
        t.equal(settled?.state, 'connected', 'both legs still bridged: not transferred, back to connected')
        await waitFor('hold released', () => svc.acw.entry('1001') === undefined)
        t.equal(again.status, 200, `a new press transfers: ${JSON.stringify(again.body)}`)
        t.equal(fake.actionsNamed('BlindTransfer').length, 2)
      }
    })
  }
})
