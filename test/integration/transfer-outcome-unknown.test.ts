// A press whose outcome Asterisk leaves open (BlindTransfer accepted but never
// confirmed, the action unanswered) is not a failure: the call stays "transferring",
// the agent stays paused, every press answers 409 TRANSFER_OUTCOME_UNKNOWN without a
// second BlindTransfer, and what the PBX shows next decides (a late BlindTransfer
// event, or the check of the call's channels the service makes itself). Fake AMI:
// Asterisk cannot be made to drop its own BlindTransfer event on demand.
import t from 'tap'
import { TOKENS } from '../helpers/config.ts'
import { waitFor } from '../helpers/ami.ts'
import { asteriskPauses, startAppStack, type AppStack } from '../helpers/app-stack.ts'
import { listAnswer, type Handler } from '../helpers/fake-ami.ts'
import { stall } from '../helpers/stall.ts'

type Channels = () => Array<Record<string, string>>

/** Asterisk with a BlindTransfer that is acked and then nothing; CoreShowChannels lists `channels()`. */
function silentPbx (channels: Channels, onTransfer: 'ack' | 'no-answer' | 'confirm' = 'ack'): { handler: Handler, set: (m: 'ack' | 'no-answer' | 'confirm') => void } {
  let mode = onTransfer
  const handler: Handler = (a, sock, f) => {
    if (asteriskPauses(a, sock, f) === true) return true
    const id = a.headers.actionid ?? ''
    const name = (a.headers.action ?? '').toLowerCase()
    if (name === 'blindtransfer') {
      if (mode === 'no-answer') return true
      sock.write(`Response: Success\r\nActionID: ${id}\r\nMessage: Transfer succeeded\r\n\r\n`)
      if (mode === 'confirm') sock.write(blindTransferEvent(a.headers.channel ?? '', 'Success'))
      return true
    }
    if (name === 'coreshowchannels' || name === 'queuestatus') {
      sock.write(listAnswer(id, name, channels()))
      return true
    }
    return false
  }
  return { handler, set: m => { mode = m } }
}

const blindTransferEvent = (agentChannel: string, result: string): string =>
  `Event: BlindTransfer\r\nResult: ${result}\r\nTransfererChannel: ${agentChannel}\r\nTransfereeChannel: PJSIP/trunk-x\r\nContext: direct-transfer\r\nExtension: 3\r\n\r\n`

const leg = (channel: string, linkedid: string, bridge: string, app: string, context: string, exten: string): Record<string, string> =>
  ({ Channel: channel, Linkedid: linkedid, BridgeId: bridge, Application: app, Context: context, Exten: exten, CallerIDNum: '0811', CallerIDName: '' })

async function readyCall (s: AppStack, callId: string): Promise<void> {
  await s.connectedCall(callId)
  const inq = await s.post(`/v1/calls/${callId}/inquiry`, TOKENS.agent1001, { topic: 'activation', customer: { name: 'Budi', salutation: 'Bapak' } })
  const con = await s.post(`/v1/calls/${callId}/consent`, TOKENS.agent1001, { accepted: true })
  if (inq.status !== 200 || con.status !== 200) throw new Error(`set-up of ${callId}: ${inq.text} ${con.text}`)
}

const pauses = (s: AppStack, paused: boolean): number => s.fake.actionsNamed('QueuePause').filter(a => a.headers.paused === String(paused)).length
/** The call's APKT records in the store, once its changes so far are durable (the record commits with its outcome). */
async function apktRecordsOf (s: AppStack, callId: string): Promise<number> {
  await s.svc.tracker.lifecycle.saved(callId)
  return (await s.svc.outbox.list({ limit: 1000 })).filter(e => e.callId === callId).length
}

t.test('accepted, never confirmed: 409 TRANSFER_OUTCOME_UNKNOWN, agent kept paused, no second BlindTransfer; a late event lands it once', async t => {
  // Both legs alive and apart, the customer nowhere near the target: the check after
  // the timeout cannot tell, so the call waits for what Asterisk says next.
  const pbx = silentPbx(() => [
    leg('PJSIP/trunk-u-1', 'u-1', '', 'Wait', 'inbound', '123'),
    leg('Local/1001@agents-u-1;1', 'u-1', 'b-alone', 'AppDial', 'agents', '1001')
  ])
  const s = await startAppStack(t, { handler: pbx.handler, edit: raw => { raw.acw = { seconds: 60, mode: 'fixed' } } })
  await readyCall(s, 'u-1')

  const first = await s.post('/v1/calls/u-1/direct-transfer', TOKENS.agent1001, { target: 3 })
  t.equal(first.status, 409, first.text)
  t.equal(first.body.error, 'TRANSFER_OUTCOME_UNKNOWN')
  t.match(first.body.transfer, { status: 'pending', target: 3, at: String, message: /did not confirm/ }, 'the first attempt, outcome unknown')
  const call = s.svc.tracker.get('u-1')
  t.equal(call?.state, 'transferring', 'not claimed connected')
  t.match(call?.transfer, { status: 'pending', message: /outcome unknown/ })
  t.equal(s.svc.acw.entry('1001')?.state, 'holding', 'ACW hold kept')
  t.equal(pauses(s, true), 1, 'the agent was paused')
  t.equal(pauses(s, false), 0, 'and not unpaused')

  const second = await s.post('/v1/calls/u-1/direct-transfer', TOKENS.agent1001, { target: 3 })
  t.equal(second.status, 409, second.text)
  t.equal(second.body.error, 'TRANSFER_OUTCOME_UNKNOWN')
  t.equal(second.body.transfer?.at, first.body.transfer.at, 'with the first attempt\'s time')
  t.match(second.body.message, first.body.transfer.at as string)
  t.equal(s.fake.actionsNamed('BlindTransfer').length, 1, 'no second BlindTransfer written')
  await waitFor('the service checked the call\'s channels', () => s.fake.actionsNamed('CoreShowChannels').length >= 2)
  t.equal(s.svc.tracker.get('u-1')?.state, 'transferring', 'still open: the channels do not tell')

  // Asterisk's word comes late: the customer is at the target.
  s.fake.send(blindTransferEvent('Local/1001@agents-u-1;1', 'Success'))
  const done = await waitFor('transferred', () => { const c = s.svc.tracker.get('u-1'); return c?.state === 'transferred' ? c : undefined })
  t.match(done.transfer, { status: 'completed', target: 3 })
  t.equal(await apktRecordsOf(s, 'u-1'), 1, 'exactly one APKT record')
  t.ok(s.svc.acw.endsAt('1001') !== undefined, 'ACW counts down from the landing')
  t.equal(pauses(s, false), 0, 'the agent still not unpaused (ACW)')
  const third = await s.post('/v1/calls/u-1/direct-transfer', TOKENS.agent1001, { target: 3 })
  t.equal(third.body.error, 'ALREADY_TRANSFERRED')
  t.equal(s.fake.actionsNamed('BlindTransfer').length, 1, 'one BlindTransfer in all')
})

t.test('accepted, never confirmed, the customer still bridged with the agent: connected again, hold released, a new press transfers', async t => {
  const pbx = silentPbx(() => [
    leg('PJSIP/trunk-u-2', 'u-2', 'b-1', 'Queue', 'inbound', '123'),
    leg('Local/1001@agents-u-2;1', 'u-2', 'b-1', 'AppDial', 'agents', '1001')
  ])
  const s = await startAppStack(t, { handler: pbx.handler, edit: raw => { raw.acw = { seconds: 60, mode: 'fixed' } } })
  await readyCall(s, 'u-2')
  const first = await s.post('/v1/calls/u-2/direct-transfer', TOKENS.agent1001, { target: 3 })
  t.equal(first.body.error, 'TRANSFER_OUTCOME_UNKNOWN', first.text)
  const back = await waitFor('back to connected after the check', () => { const c = s.svc.tracker.get('u-2'); return c?.state === 'connected' ? c : undefined })
  t.match(back.transfer, { status: 'failed', message: /still with the agent/ })
  await waitFor('hold released: the agent unpaused', () => pauses(s, false) === 1 && s.svc.acw.entry('1001') === undefined)
  t.pass('hold released')
  pbx.set('confirm')
  const again = await s.post('/v1/calls/u-2/direct-transfer', TOKENS.agent1001, { target: 3 })
  t.equal(again.status, 200, again.text)
  t.equal(s.fake.actionsNamed('BlindTransfer').length, 2, 'the new press sent the second BlindTransfer')
  t.equal(await apktRecordsOf(s, 'u-2'), 1, 'one APKT record')
})

t.test('Asterisk answered and confirmed in time, our process stalled past the timeouts: 200, not outcome unknown; one QueuePause', async t => {
  // The fake shares our process: it answers the BlindTransfer (response and event), then
  // blocks the loop past every 500 ms timeout (a long GC pause, a CPU-starved host). The
  // answers wait in the kernel while the timers fall due; they must be read first.
  const pbx = silentPbx(() => [
    leg('PJSIP/trunk-u-9', 'u-9', 'b-9', 'Queue', 'inbound', '123'),
    leg('Local/1001@agents-u-9;1', 'u-9', 'b-9', 'AppDial', 'agents', '1001')
  ], 'confirm')
  const stalling: Handler = (a, sock, f) => {
    if ((a.headers.action ?? '').toLowerCase() !== 'blindtransfer') return pbx.handler(a, sock, f)
    // In the check phase, after this turn's reads: what the service's socket had so far
    // is read, the answers written here are not, until the loop's next poll.
    setImmediate(() => {
      pbx.handler(a, sock, f)
      stall(800)
    })
    return true
  }
  const s = await startAppStack(t, { handler: stalling, edit: raw => { raw.acw = { seconds: 60, mode: 'fixed' } } })
  await readyCall(s, 'u-9')
  const press = await s.post('/v1/calls/u-9/direct-transfer', TOKENS.agent1001, { target: 3 })
  t.equal(press.status, 200, press.text)
  t.equal(s.svc.tracker.get('u-9')?.state, 'transferred')
  t.equal(pauses(s, true), 1, 'one QueuePause: its confirmation was read, not given up on')
  t.equal(s.fake.actionsNamed('BlindTransfer').length, 1)
  t.equal(await apktRecordsOf(s, 'u-9'), 1, 'one APKT record')
})

t.test('the BlindTransfer action unanswered (AMI_TIMEOUT): outcome unknown too; the customer gone: ended, hold released', async t => {
  let customerHere = true
  const pbx = silentPbx(() => customerHere ? [leg('PJSIP/trunk-u-3', 'u-3', '', 'Wait', 'inbound', '123'), leg('Local/1001@agents-u-3;1', 'u-3', 'b-x', 'AppDial', 'agents', '1001')] : [], 'no-answer')
  const s = await startAppStack(t, { handler: pbx.handler, edit: raw => { raw.acw = { seconds: 60, mode: 'fixed' } } })
  await readyCall(s, 'u-3')
  const first = await s.post('/v1/calls/u-3/direct-transfer', TOKENS.agent1001, { target: 3 })
  t.equal(first.status, 409, first.text)
  t.equal(first.body.error, 'TRANSFER_OUTCOME_UNKNOWN')
  t.match(first.body.message, /did not answer BlindTransfer/)
  t.equal(s.svc.tracker.get('u-3')?.state, 'transferring')
  t.equal(pauses(s, false), 0, 'the agent stays paused')
  customerHere = false
  const ended = await waitFor('ended by the check', () => { const c = s.svc.tracker.get('u-3'); return c?.state === 'ended' ? c : undefined })
  t.match(ended.endReason, /customer/)
  t.notOk(s.svc.acw.entry('1001')?.state === 'holding', 'no hold left waiting for a transfer')
  t.equal(s.svc.tracker.agentStatus('1001')?.callId, undefined, 'the agent is off the call')
  t.equal(await apktRecordsOf(s, 'u-3'), 0, 'no transfer record')
  t.equal(s.fake.actionsNamed('BlindTransfer').length, 1)
})

t.test('a BlindTransfer event reporting failure after the press gave up: connected, hold released', async t => {
  const pbx = silentPbx(() => [
    leg('PJSIP/trunk-u-4', 'u-4', '', 'Wait', 'inbound', '123'),
    leg('Local/1001@agents-u-4;1', 'u-4', 'b-alone', 'AppDial', 'agents', '1001')
  ])
  const s = await startAppStack(t, { handler: pbx.handler, edit: raw => { raw.acw = { seconds: 60, mode: 'fixed' } } })
  await readyCall(s, 'u-4')
  t.equal((await s.post('/v1/calls/u-4/direct-transfer', TOKENS.agent1001, { target: 3 })).body.error, 'TRANSFER_OUTCOME_UNKNOWN')
  s.fake.send(blindTransferEvent('Local/1001@agents-u-4;1', 'Fail'))
  const back = await waitFor('connected', () => { const c = s.svc.tracker.get('u-4'); return c?.state === 'connected' ? c : undefined })
  t.match(back.transfer, { status: 'failed', message: /Fail/ })
  await waitFor('unpaused', () => pauses(s, false) === 1)
  t.pass('hold released')
})

t.test('Asterisk refuses the BlindTransfer (Response: Error): still 502 TRANSFER_FAILED, hold released', async t => {
  const s = await startAppStack(t, {
    handler: (a, sock, f) => {
      if (asteriskPauses(a, sock, f) === true) return true
      if (a.headers.action !== 'BlindTransfer') return false
      sock.write(`Response: Error\r\nActionID: ${a.headers.actionid ?? ''}\r\nMessage: No such channel\r\n\r\n`)
      return true
    },
    edit: raw => { raw.acw = { seconds: 60, mode: 'fixed' } }
  })
  await readyCall(s, 'u-5')
  const r = await s.post('/v1/calls/u-5/direct-transfer', TOKENS.agent1001, { target: 3 })
  t.equal(r.status, 502)
  t.equal(r.body.error, 'TRANSFER_FAILED')
  t.equal(s.svc.tracker.get('u-5')?.state, 'connected')
  await waitFor('unpaused', () => pauses(s, false) === 1)
  t.pass('hold released')
})

t.test('20 presses in flight at once: no MaxListenersExceededWarning', async t => {
  const warnings: Error[] = []
  const onWarning = (w: Error): void => { warnings.push(w) }
  process.on('warning', onWarning)
  t.teardown(() => { process.off('warning', onWarning) })
  const s = await startAppStack(t, {
    handler: (a, sock, f) => {
      if (asteriskPauses(a, sock, f) === true) return true
      if (a.headers.action !== 'BlindTransfer') return false
      // Answer later, so that every press is waiting at once.
      setTimeout(() => {
        sock.write(`Response: Success\r\nActionID: ${a.headers.actionid ?? ''}\r\nMessage: Transfer succeeded\r\n\r\n`)
        sock.write(blindTransferEvent(a.headers.channel ?? '', 'Success'))
      }, 300)
      return true
    }
  })
  const ids = Array.from({ length: 20 }, (_, i) => `m-${i}`)
  for (const id of ids) await readyCall(s, id)
  const res = await Promise.all(ids.map(async id => await s.post(`/v1/calls/${id}/direct-transfer`, TOKENS.agent1001, { target: 3 })))
  t.same(res.map(r => r.status), ids.map(() => 200), 'every press transferred')
  await new Promise(resolve => setImmediate(resolve)) // warnings are emitted on the next tick
  t.same(warnings.filter(w => w.name === 'MaxListenersExceededWarning').map(w => w.message), [], 'no listener leak warning')
})
