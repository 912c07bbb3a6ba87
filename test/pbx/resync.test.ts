// A restart of the service in the middle of calls: it knows who is talking to whom
// again (CoreShowChannels + QueueStatus), keeps what the agent recorded, and learns
// which calls ended while it was away.
import t from 'tap'
import { TOKENS } from '../helpers/config.ts'
import { waitFor } from '../helpers/ami.ts'
import { startStack } from './harness.ts'

t.test('service restart mid-call: resync from Asterisk, then the transfer still works', async t => {
  const s = await startStack(t)
  const talking = await s.call('0811555001')
  const leg = s.svc.tracker.get(talking.callId)?.agentChannel
  await s.http('POST', `/v1/calls/${talking.callId}/inquiry`, talking.token, { topic: 'disruption', customer: { name: 'Rina', salutation: 'Ibu' } })
  await s.http('POST', `/v1/calls/${talking.callId}/consent`, talking.token, { accepted: true })
  const leaving = await s.call('0811555002')

  await s.restartService(async () => {
    // While the service is down, the second caller hangs up.
    const channel = s.svc.tracker.get(leaving.callId)?.customerChannel ?? ''
    await s.admin.action('Hangup', { Channel: channel })
    for (let i = 0; i < 50; i++) {
      const live = await s.admin.list('CoreShowChannels')
      if (!live.items.some(c => c.fields.linkedid === leaving.callId)) break
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  })

  const back = await waitFor('resynced call', () => { const c = s.svc.tracker.get(talking.callId); return c?.state === 'connected' && c.agentChannel !== undefined ? c : undefined })
  t.equal(back.agentId, talking.agentId, 'the same agent')
  t.equal(back.agentChannel, leg, 'the same agent leg')
  t.equal(back.inquiry?.topic, 'disruption', 'the inquiry survived the restart')
  t.equal(back.consent?.accepted, true, 'so did the consent')
  const agent = await s.http('GET', `/v1/agents/${talking.agentId}`, TOKENS.supervisor)
  t.equal(agent.body.state, 'on_call')
  t.equal(agent.body.callId, talking.callId)

  const gone = await waitFor('the ended call settled', () => s.svc.tracker.get(leaving.callId)?.state === 'ended' ? s.svc.tracker.get(leaving.callId) : undefined)
  t.match(gone.endReason, /could not see it/, 'ended while the service was down')
  const freed = await s.http('GET', `/v1/agents/${leaving.agentId}`, TOKENS.supervisor)
  t.not(freed.body.state, 'on_call')

  const press = await s.http('POST', `/v1/calls/${talking.callId}/direct-transfer`, talking.token, { target: 3 })
  t.equal(press.status, 200, JSON.stringify(press.body))
  const arrived = await waitFor('arrival', () => s.pbxEvents.find(e => e.event === 'UserEvent' && e.fields.userevent === 'IconnetArrived' && e.fields.linkedid === talking.callId))
  t.equal(arrived.fields.calleridnum, '0811555001')
})
