// A resync whose lists cannot be read right after a login (Asterisk just started, an
// action refused or timing out) is tried again while the session lasts; before, the
// picture stayed stale until the next reconnect, which may be hours away.
import t from 'tap'
import pino from 'pino'
import { createService } from '../../src/service.ts'
import { FakeAmi, FakeQueue } from '../helpers/fake-ami.ts'
import { TOKENS, testConfig } from '../helpers/config.ts'
import { waitFor } from '../helpers/ami.ts'

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
  for (const payload of [
    { type: 'call.offered', callId: 'gone-1', data: { callerIdNum: '0811', customerChannel: 'PJSIP/trunk-gone' } },
    { type: 'call.answered', callId: 'gone-1', agentId: '1001', data: { agentChannel: 'Local/1001@agents-gone;1' } }
  ]) {
    const r = await svc.app.inject({ method: 'POST', url: '/v1/cti/events', headers: { authorization: `Bearer ${TOKENS.pbx}` }, payload })
    t.equal(r.statusCode, 202)
  }
  refuse = false
  await waitFor('a second resync', () => fake.actionsNamed('CoreShowChannels').length > 1 ? true : undefined, 10_000)
  await waitFor('the call ended by it', () => svc.tracker.get('gone-1')?.state === 'ended' ? true : undefined, 10_000)
  t.equal(svc.tracker.get('gone-1')?.endReason, 'call ended while the service could not see it')
  t.equal(svc.ami.status().connects, 1, 'on the same session (no reconnect did it)')
})
