// The report facts of real calls on the sandbox (Asterisk 22's app_queue): a call
// transferred to ICONNET and answered there reaches the store's reports (the join and the
// answer from QueueCallerJoin and AgentConnect, the topic, the transfer and its landing).
import t from 'tap'
import { TOKENS } from '../helpers/config.ts'
import { waitFor } from '../helpers/ami.ts'
import { startStack } from './harness.ts'

const JAKARTA = 7 * 3_600_000
const DAY = 86_400_000

t.test('a transferred call answered at ICONNET, in the reports', async t => {
  const s = await startStack(t)
  // Today and yesterday in Jakarta, whatever the hour the test runs at.
  const today = Math.floor((Date.now() + JAKARTA) / DAY) * DAY - JAKARTA
  const range = { from: new Date(today - DAY), to: new Date(today + DAY) }
  const totals = async () => {
    const rows = await s.svc.store.reports.summary({ ...range, interval: 'day', serviceLevelSeconds: 20 })
    return {
      offered: rows.reduce((n, r) => n + r.offered, 0),
      answered: rows.reduce((n, r) => n + r.answered, 0),
      activation: rows.reduce((n, r) => n + (r.byTopic.activation ?? 0), 0),
      completed: rows.reduce((n, r) => n + r.transfers.completed, 0),
      answeredAtTarget: rows.reduce((n, r) => n + r.transfers.answeredAtTarget, 0)
    }
  }
  await s.admin.action('Setvar', { Variable: 'ICONNET_MODE', Value: 'answer' })
  await s.admin.action('Setvar', { Variable: 'ICONNET_ANSWER', Value: 'no' })
  const { callId, agentId, token } = await s.call('0811888001')
  await s.http('POST', `/v1/calls/${callId}/inquiry`, token, { topic: 'activation', customer: { name: 'Budi', salutation: 'Bapak' } })
  await s.http('POST', `/v1/calls/${callId}/consent`, token, { accepted: true })
  const press = await s.http('POST', `/v1/calls/${callId}/direct-transfer`, token, { target: 3 })
  t.equal(press.status, 200, JSON.stringify(press.body))
  await waitFor('the landing answered', () => s.svc.tracker.get(callId)?.transfer?.landing?.status === 'answered', 15_000)
  await s.svc.tracker.lifecycle.saved(callId)

  let got = await totals()
  for (let i = 0; i < 100 && got.answeredAtTarget < 1; i++) { await new Promise(resolve => setTimeout(resolve, 100)); got = await totals() }
  t.strictSame(got, { offered: 1, answered: 1, activation: 1, completed: 1, answeredAtTarget: 1 }, 'from the sandbox\'s own events')
  t.match(await s.svc.store.reports.agents(range), [{ agentId, calls: 1, transfers: 1 }])
  const metrics = (await s.http('GET', '/metrics', TOKENS.supervisor)).body as string
  t.match(metrics, /pln123_service_level_15m 1\n/, 'answered within 20 s')
})
