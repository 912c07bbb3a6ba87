// Asterisk's queue_log on the real sandbox: what queue_log readers (Asternic,
// QueueMetrics, the PBX's own reports) get for a call that ends and for a call the
// agent transfers. app_queue writes ENTERQUEUE, CONNECT, COMPLETECALLER/AGENT and,
// for the service's AMI BlindTransfer, BLINDTRANSFER itself; the service adds the
// ACW it enforces (ACWSTART, ACWEND) and the call's final wrap-up (WRAPUP) with AMI
// QueueLog, for the call's agent.
import t, { type Test } from 'tap'
import { eventually, waitFor } from '../helpers/ami.ts'
import { startStack, type Stack } from './harness.ts'
import { queueLog, type Line } from './queue-log-file.ts'

const ACW_SECONDS = 3

/** The call's lines once its ACWEND and WRAPUP are there. */
async function linesOfCall (s: Stack, callId: string): Promise<Line[]> {
  return await eventually('ACWEND and WRAPUP in queue_log', async () => {
    const mine = (await queueLog(s)).filter(l => l.callId === callId)
    return mine.some(l => l.event === 'ACWEND') && mine.some(l => l.event === 'WRAPUP') ? mine : undefined
  }, (ACW_SECONDS + 8) * 1000)
}

/**
 * The one WRAPUP line, written when the window closes at ACW's end: after ACWSTART, by
 * ACWEND's second (both follow the deadline; which is first is a race of two AMI writes).
 * The other lines without it, for their order.
 */
function wrapupLine (t: Test, lines: Line[]): { wrapup: Line, others: Line[] } {
  const wrapups = lines.filter(l => l.event === 'WRAPUP')
  t.equal(wrapups.length, 1, 'one WRAPUP line')
  const wrapup = wrapups[0] as Line
  const start = lines.find(l => l.event === 'ACWSTART') as Line
  const end = lines.find(l => l.event === 'ACWEND') as Line
  t.ok(wrapup.time >= start.time + ACW_SECONDS - 1 && Math.abs(wrapup.time - end.time) <= 1, 'WRAPUP at ACW\'s end')
  return { wrapup, others: lines.filter(l => l.event !== 'WRAPUP') }
}

t.test('a call that ends: CONNECT and COMPLETE from app_queue, then ACWSTART and ACWEND for its agent, ACWEND after the deadline', async t => {
  const s = await startStack(t, raw => { raw.acw = { seconds: ACW_SECONDS, mode: 'fixed' } })
  const c = await s.call('0811000501')
  const chosen = await s.http('POST', `/v1/calls/${c.callId}/wrapup`, c.token, { code: 'SELESAI' })
  t.equal(chosen.status, 200, 'the agent picks a wrap-up code during the call')
  await s.admin.action('Hangup', { Channel: s.svc.tracker.get(c.callId)?.customerChannel ?? '' })
  const endsAt = await waitFor('ACW', () => s.svc.acw.endsAt(c.agentId))
  await waitFor('ACW over', () => s.svc.acw.endsAt(c.agentId) === undefined ? true : undefined, (ACW_SECONDS + 8) * 1000)
  const all = await linesOfCall(s, c.callId)
  const member = `Agent ${c.agentId}`
  const { wrapup, others: lines } = wrapupLine(t, all)
  t.match(wrapup, { queue: 'pln123', agent: member, data: ['SELESAI', 'agent'] }, 'WRAPUP: the agent\'s code, chosen by a person')

  t.same(lines.map(l => l.event), ['ENTERQUEUE', 'CONNECT', 'COMPLETECALLER', 'ACWSTART', 'ACWEND'], 'in this order, each once')
  t.ok(lines.filter(l => l.event !== 'ENTERQUEUE').every(l => l.queue === 'pln123' && l.agent === member), 'the queue and the agent as app_queue names them (MemberName)')
  const start = lines.find(l => l.event === 'ACWSTART') as Line
  const end = lines.find(l => l.event === 'ACWEND') as Line
  t.same(start.data, [String(ACW_SECONDS), 'ACW'], 'ACWSTART: the ACW seconds and the pause reason')
  t.equal(end.data[1], 'TIMEOUT', 'ACWEND: ended by its deadline')
  t.ok(Number(end.data[0]) >= ACW_SECONDS, 'ACWEND: it lasted the whole ACW')
  t.ok(end.time - start.time >= ACW_SECONDS, 'ACWEND is written after the deadline, not before')
  t.ok(end.time * 1000 >= Date.parse(endsAt) - 1000, 'ACWEND at or after the stored deadline (queue_log counts whole seconds)')
  const complete = lines.find(l => l.event === 'COMPLETECALLER') as Line
  t.ok(start.time >= complete.time, 'ACW starts when the talk is over')

  // app_queue's own lines for the service's QueuePause: reason ACW, but no callid.
  const pause = (await queueLog(s)).filter(l => l.agent === member && l.queue === 'pln123' && (l.event === 'PAUSE' || l.event === 'UNPAUSE'))
  t.same(pause.map(l => [l.event, l.callId, l.data[0] ?? '']), [['PAUSE', 'NONE', 'ACW'], ['UNPAUSE', 'NONE', '']], 'app_queue logs the pause itself, without the call')

  // A second call nobody wraps up (no topic either): wrapupDefault at ACW's end.
  const quiet = await s.call('0811000503')
  await s.admin.action('Hangup', { Channel: s.svc.tracker.get(quiet.callId)?.customerChannel ?? '' })
  const quietLines = await linesOfCall(s, quiet.callId)
  const { wrapup: byDefault } = wrapupLine(t, quietLines)
  t.match(byDefault, { queue: 'pln123', agent: `Agent ${quiet.agentId}`, data: ['TANPA_KODE', 'default'] }, 'WRAPUP: wrapupDefault for a call closed without a code')
  t.match((await s.svc.tracker.find(quiet.callId))?.wrapup, { code: 'TANPA_KODE', source: 'default', final: true }, 'on the call too')
})

t.test('a transferred call: BLINDTRANSFER to 3 from app_queue, then ACWSTART and ACWEND', async t => {
  const s = await startStack(t, raw => { raw.acw = { seconds: ACW_SECONDS, mode: 'fixed' } })
  const c = await s.call('0811000502')
  await s.http('POST', `/v1/calls/${c.callId}/inquiry`, c.token, { topic: 'activation', customer: { name: 'Budi', salutation: 'Bapak' } })
  await s.http('POST', `/v1/calls/${c.callId}/consent`, c.token, { accepted: true })
  const r = await s.http('POST', `/v1/calls/${c.callId}/direct-transfer`, c.token, { target: 3 })
  t.equal(r.status, 200, JSON.stringify(r.body))
  const arrived = await waitFor('the customer at 3', () => s.pbxEvents.find(e => e.event === 'UserEvent' && e.fields.userevent === 'IconnetArrived' && e.fields.linkedid === c.callId))
  await waitFor('ACW', () => s.svc.acw.endsAt(c.agentId))
  await waitFor('ACW over', () => s.svc.acw.endsAt(c.agentId) === undefined ? true : undefined, (ACW_SECONDS + 8) * 1000)
  const { wrapup, others: lines } = wrapupLine(t, await linesOfCall(s, c.callId))
  t.match(wrapup, { queue: 'pln123', agent: `Agent ${c.agentId}`, data: ['TRANSFER_ICONNET', 'topic'] }, 'WRAPUP: nobody chose, the transfer topic\'s code')

  t.same(lines.map(l => l.event), ['ENTERQUEUE', 'CONNECT', 'BLINDTRANSFER', 'ACWSTART', 'ACWEND'], 'in this order, each once')
  const bt = lines.find(l => l.event === 'BLINDTRANSFER') as Line
  t.same(bt.data.slice(0, 2), ['3', 'direct-transfer'], 'the transfer with its target (exten, context)')
  t.equal(bt.data.length, 5, 'BLINDTRANSFER|exten|context|holdtime|calltime|position')
  t.ok(lines.filter(l => l.event !== 'ENTERQUEUE').every(l => l.agent === `Agent ${c.agentId}`), 'all for the agent who transferred')
  const start = lines.find(l => l.event === 'ACWSTART') as Line
  const end = lines.find(l => l.event === 'ACWEND') as Line
  t.ok(start.time >= bt.time, 'ACW starts once the transfer landed, not during the talk')
  t.ok(end.time - start.time >= ACW_SECONDS, 'and ends after the deadline')
  t.equal(s.sent.filter(a => a.name === 'QueueLog').length, 3, 'the service wrote three lines (ACWSTART, ACWEND, WRAPUP): no transfer line of its own')
  await s.admin.action('Hangup', { Channel: arrived.fields.channel })
})
