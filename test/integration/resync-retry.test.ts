// The resync after a login. Its lists cannot be read right after it (Asterisk just
// started, an action refused or timing out): tried again while the session lasts; before,
// the picture stayed stale until the next reconnect, which may be hours away. Its lists
// are older than what the service heard while they were on their way: that news stands.
import t, { type Test } from 'tap'
import pino from 'pino'
import { createService, type Service } from '../../src/service.ts'
import { FakeAmi, FakeQueue } from '../helpers/fake-ami.ts'
import { TOKENS, testConfig } from '../helpers/config.ts'
import { waitFor } from '../helpers/ami.ts'
import { HeldResync, watchRepair } from '../helpers/held-repair.ts'

/** A call offered and answered by agent 1001, as the dialplan's hooks announce it. */
async function callAnswered (t: Test, svc: Service, callId: string): Promise<void> {
  for (const payload of [
    { type: 'call.offered', callId, data: { callerIdNum: '0811', customerChannel: `PJSIP/trunk-${callId}` } },
    { type: 'call.answered', callId, agentId: '1001', data: { agentChannel: `Local/1001@agents-${callId};1` } }
  ]) {
    const r = await svc.app.inject({ method: 'POST', url: '/v1/cti/events', headers: { authorization: `Bearer ${TOKENS.pbx}` }, payload })
    t.equal(r.statusCode, 202, `${payload.type} ${callId}`)
  }
}

t.test('the resync after a login fails once: it is tried again, and a call Asterisk no longer has is ended', async t => {
  const q = new FakeQueue(['Local/1001@agents/n', 'Local/1002@agents/n'])
  let refuse = true
  const fake = await FakeAmi.start({
    handler: (a, sock, f) => {
      if ((a.headers.action ?? '').toLowerCase() === 'coreshowchannels' && refuse) {
        sock.write(`Response: Error\r\nActionID: ${a.headers.actionid ?? ''}\r\nMessage: Module not loaded yet\r\n\r\n`)
        return true
      }
      return q.handler(a, sock, f)
    }
  })
  t.teardown(async () => { await fake.stop() })
  const svc = await createService(testConfig(fake.port), pino({ level: 'silent' }))
  t.teardown(async () => { await svc.stop() })
  await svc.start()
  await waitFor('AMI', () => svc.ami.ready)
  await waitFor('the first resync refused', () => fake.actionsNamed('CoreShowChannels').length > 0 ? true : undefined)
  // Known to the service (the dialplan said so) but gone from Asterisk by the time it answers.
  await callAnswered(t, svc, 'gone-1')
  refuse = false
  await waitFor('a second resync', () => fake.actionsNamed('CoreShowChannels').length > 1 ? true : undefined, 10_000)
  await waitFor('the call ended by it', () => svc.tracker.get('gone-1')?.state === 'ended' ? true : undefined, 10_000)
  t.equal(svc.tracker.get('gone-1')?.endReason, 'call ended while the service could not see it')
  t.equal(svc.ami.status().connects, 1, 'on the same session (no reconnect did it)')
})

t.test('a call the dialplan announces while the resync\'s lists are on their way is not ended by them', async t => {
  // Asterisk took its channel list before the call existed; the service hears of the
  // call (a CTI event) before that list arrives. Before, the resync ended it "while the
  // service could not see it": its agent freed mid-call, and put in ACW.
  const q = new FakeQueue(['Local/1001@agents/n', 'Local/1002@agents/n'])
  const lists = new HeldResync(q.handler)
  const fake = await FakeAmi.start({ handler: lists.handler })
  t.teardown(async () => { await fake.stop() })
  const svc = await createService(testConfig(fake.port, raw => { raw.ami.actionTimeoutMs = 3000 }), pino({ level: 'silent' }))
  t.teardown(async () => { await svc.stop() })
  const repaired = watchRepair(svc)
  await svc.start()
  await lists.asked()
  await callAnswered(t, svc, 'new-1')
  lists.release()
  await waitFor('the resync and the repair done', () => repaired() ? true : undefined)
  t.equal(svc.tracker.get('new-1')?.state, 'connected', 'the call is still connected')
  t.equal(svc.tracker.agentStatus('1001')?.callId, 'new-1', 'its agent still on it')
  t.equal(svc.acw.entry('1001'), undefined, 'no ACW begun for a call that goes on')
})
