// The AMI adapter's action gate (src/ami/client.ts setActionGate), against a fake AMI
// server that records every byte: an HA group's instance that may not act (a standby,
// or an active whose lease may have run out) sends nothing to Asterisk, and says so at
// once; the gate is asked at each action, so opening it again lets actions through.
import t from 'tap'
import { AmiError } from '../../src/ami/index.ts'
import { FakeAmi } from '../helpers/fake-ami.ts'
import { makeClient, once } from '../helpers/ami.ts'

t.test('an action while the gate is shut rejects at once, unsent; Ping and Logoff pass; reopened, actions go out', async t => {
  const fake = await FakeAmi.start()
  // A long action timeout: a refusal that came from waiting would take a minute.
  const { client: ami } = makeClient(fake.port, { actionTimeoutMs: 60_000 })
  t.teardown(async () => { await ami.close(); await fake.stop() })
  const connected = once(ami, 'connected')
  ami.start()
  await connected

  let open = true
  let asked = 0
  ami.setActionGate(() => { asked++; return open })
  await ami.action('QueuePause', { Interface: 'PJSIP/1001', Paused: 'true' })
  t.equal(fake.actionsNamed('QueuePause').length, 1, 'gate open: the action is sent')

  open = false
  const before = fake.received.length
  const started = Date.now()
  const err = await ami.action('QueuePause', { Interface: 'PJSIP/1001', Paused: 'false' }).then(() => undefined, (e: unknown) => e)
  t.type(err, AmiError)
  t.equal((err as AmiError).code, 'AMI_UNAVAILABLE', 'nothing was sent: the code that says so')
  t.match((err as AmiError).message, /QueuePause was not sent: this instance may not act on the PBX now/)
  t.match((err as AmiError).publicMessage, /not the active instance of its HA group/, 'the client is told why, not "not connected"')
  t.ok(Date.now() - started < 30_000, 'refused at once, not by the action timeout')
  await t.rejects(ami.list('QueueStatus'), { code: 'AMI_UNAVAILABLE' }, 'list actions too')
  await t.rejects(ami.action('BlindTransfer', { Channel: 'PJSIP/1001-1', Exten: '3', Context: 'direct-transfer' }), { code: 'AMI_UNAVAILABLE' })
  await ami.action('Ping') // passes the gate; a round trip, so what was written before has arrived
  const written = fake.received.slice(before)
  t.notOk(/QueuePause|QueueStatus|BlindTransfer/i.test(written), `no gated action reached the socket: ${JSON.stringify(written)}`)
  t.equal(fake.actionsNamed('QueuePause').length, 1, 'still only the first QueuePause')
  t.equal(fake.actionsNamed('Ping').length, 1, 'Ping passes a shut gate (it changes nothing on the PBX)')
  t.ok(asked >= 4, 'the gate is asked at each action')

  open = true
  await ami.action('QueuePause', { Interface: 'PJSIP/1001', Paused: 'false' })
  t.equal(fake.actionsNamed('QueuePause').length, 2, 'reopened: sent again')
  ami.setActionGate(undefined)
  open = false
  await ami.action('QueueStatus')
  t.equal(fake.actionsNamed('QueueStatus').length, 1, 'no gate: every action goes')
})
