// The AMI adapter and the service's readiness against a real Asterisk 22.
import t from 'tap'
import pino from 'pino'
import type { AmiEvent } from '../../src/ami/index.ts'
import { createService } from '../../src/service.ts'
import { TOKENS, testConfig } from '../helpers/config.ts'
import { waitFor } from '../helpers/ami.ts'
import { ADMIN_USER, placeCall, sandboxClient, startSandbox } from './fixture.ts'

t.test('real Asterisk: login as the least-privilege user, see a queue call as typed events, list live channels', async t => {
  const sb = await startSandbox(t)
  const { client: cti } = await sandboxClient(t, sb)
  const { client: admin } = await sandboxClient(t, sb, ADMIN_USER)
  t.equal(cti.state, 'connected', 'the cti user of config/asterisk/manager.conf logs in')

  const events: AmiEvent[] = []
  cti.on('event', e => events.push(e))
  await placeCall(admin, '0811000001', 'Budi')

  const connect = await waitFor('AgentConnect', () => events.find(e => e.event === 'AgentConnect'))
  if (connect.known !== true || connect.event !== 'AgentConnect') throw new Error('AgentConnect not typed')
  t.match(connect.interface, /^Local\/100[12]@agents\/n$/, 'the member interface as configured in the queue')
  t.match(connect.destChannel, /^Local\/100[12]@agents-[0-9a-f]+;1$/, 'the agent leg is the DestChannel')
  t.equal(connect.callerIdNum, '0811000001', 'the customer side carries the caller id')
  t.ok(connect.linkedid.length > 0, 'the call has a linkedid')
  for (const name of ['Newchannel', 'AgentCalled', 'BridgeEnter', 'UserEvent']) {
    t.ok(events.some(e => e.event === name), `${name} seen`)
  }

  await waitFor('both legs bridged', () => events.filter(e => e.event === 'BridgeEnter').length >= 2)
  const channels = await cti.list('CoreShowChannels')
  const names = channels.items.map(i => i.fields.channel ?? '')
  t.ok(names.includes(connect.channel), 'the customer channel is listed')
  t.ok(names.includes(connect.destChannel), 'the agent leg is listed')
  t.ok(channels.items.every(i => i.fields.linkedid === connect.linkedid), 'every listed channel belongs to that call')

  const queue = await cti.list('QueueStatus', { Queue: 'pln123' })
  const members = queue.items.filter(i => i.event === 'QueueMember').map(i => i.fields.location)
  t.same(members.sort(), ['Local/1001@agents/n', 'Local/1002@agents/n'], 'QueueStatus lists both members')

  await t.rejects(cti.action('Originate', { Channel: 'Local/s@caller', Context: 'caller', Exten: 's', Priority: 1 }),
    { code: 'AMI_ACTION_FAILED', message: /Permission denied/ }, 'the service user cannot place calls')
  const paused = await cti.action('QueuePause', { Interface: 'Local/1002@agents/n', Paused: 'true', Reason: 'ACW' })
  t.equal(paused.response, 'Success', 'but it can pause a member')
  const logged = await cti.action('QueueLog', { Queue: 'pln123', Event: 'ACWSTART', Interface: 'Agent 1002', UniqueID: connect.linkedid, Message: '30|ACW' })
  t.equal(logged.response, 'Success', 'and write a queue_log line (QueueLog needs write = agent)')
  const added = await cti.action('QueueAdd', { Queue: 'pln123', Interface: 'Local/1009@agents/n', MemberName: 'Agent 1009', Paused: 'true' })
  t.equal(added.response, 'Success', 'add a member at an agent\'s login (QueueAdd needs write = agent)')
  const removed = await cti.action('QueueRemove', { Queue: 'pln123', Interface: 'Local/1009@agents/n' })
  t.equal(removed.response, 'Success', 'and remove it at the logout (QueueRemove, the same right)')
  await admin.action('Hangup', { Channel: connect.channel })
})

t.test('real Asterisk honours the Events header sent at login', async t => {
  const sb = await startSandbox(t)
  const { client: quiet } = await sandboxClient(t, sb, ADMIN_USER, 'off')
  const { client: loud } = await sandboxClient(t, sb, ADMIN_USER, 'on')
  const heardQuiet: AmiEvent[] = []
  const heardLoud: AmiEvent[] = []
  quiet.on('event', e => heardQuiet.push(e))
  loud.on('event', e => heardLoud.push(e))
  await placeCall(loud, '0811000002')
  await waitFor('AgentConnect on the events-on session', () => heardLoud.some(e => e.event === 'AgentConnect'))
  await loud.action('Ping')
  await quiet.action('Ping')
  t.equal(heardQuiet.length, 0, 'Events: off means no events (the library\'s "Event: off" would be ignored)')
  t.ok(heardLoud.length > 5)
})

t.test('Asterisk restart mid-test: the adapter reconnects by itself, /readyz goes 503 then 200, actions fail fast meanwhile', async t => {
  const sb = await startSandbox(t)
  const config = testConfig(sb.amiPort)
  const svc = await createService(config, pino({ level: 'silent' }))
  t.teardown(() => svc.stop())
  await svc.start()
  await waitFor('AMI login', () => svc.ami.ready)
  const ready = await svc.app.inject({ url: '/readyz' })
  t.equal(ready.statusCode, 200)

  const connects = svc.ami.status().connects
  const down = new Promise<string>(resolve => svc.ami.once('disconnected', resolve))
  await sb.stop()
  t.match(await down, /closed|failed/, 'the drop is noticed')

  const notReady = await svc.app.inject({ url: '/readyz' })
  t.equal(notReady.statusCode, 503)
  t.equal(notReady.json().error, 'NOT_READY')
  t.equal(notReady.json().message, 'not ready: ami', 'the reason names AMI')
  const status = await svc.app.inject({ url: '/v1/status', headers: { authorization: `Bearer ${TOKENS.supervisor}` } })
  t.match(status.json().ami, { ok: false, state: /^(disconnected|connecting)$/ }, 'GET /v1/status says how AMI is down')

  const err = await svc.ami.action('QueueStatus').then(() => undefined, (e: { code: string }) => e)
  // AMI_UNAVAILABLE, not AMI_TIMEOUT: refused up front, without waiting for the action timeout.
  t.equal(err?.code, 'AMI_UNAVAILABLE', 'an action during the outage is refused, not queued')

  await sb.start()
  await waitFor('reconnect', () => svc.ami.status().connects > connects, 15_000)
  const back = await svc.app.inject({ url: '/readyz' })
  t.equal(back.statusCode, 200, 'ready again without any help')
  t.equal((await svc.ami.list('QueueStatus')).response.response, 'Success', 'and usable')
})
