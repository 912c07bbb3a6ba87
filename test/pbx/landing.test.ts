// Where a transferred customer landed, on the real sandbox. Entry 3 dials the
// sandbox's "ICONNET" leg, whose behaviour each case picks (ICONNET_MODE, a global set
// with AMI Setvar): it answers, rings until the customer hangs up or the Dial times
// out, is busy or congested. What Asterisk 22 emits for these (seen with a probe): the
// customer's channel is the DialEnd's Channel, with DialStatus ANSWER, CANCEL (the
// customer hung up while it rang), BUSY, CONGESTION or NOANSWER; after a failed Dial the
// dialplan hangs the customer up (cause 16, like a customer's own hangup).
import t from 'tap'
import type { AmiEvent } from '../../src/ami/index.ts'
import { TOKENS } from '../helpers/config.ts'
import { waitFor } from '../helpers/ami.ts'
import { startStack, type Stack } from './harness.ts'

const budi = { name: 'Budi', salutation: 'Bapak' }

function metric (text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$/.exec(line)
    if (m === null || m[1] !== name) continue
    const have = Object.fromEntries([...(m[3] ?? '').matchAll(/([a-zA-Z_]+)="([^"]*)"/g)].map(x => [x[1], x[2]]))
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[4])
  }
  return 0
}

/** pln123_transfer_landings_total by final status, as the scraper reads it. */
async function landings (s: Stack): Promise<{ answered: number, abandoned: number, failed: number }> {
  const text = (await s.http('GET', '/metrics', TOKENS.supervisor)).body as string
  const of = (status: string): number => metric(text, 'pln123_transfer_landings_total', { status })
  return { answered: of('answered'), abandoned: of('abandoned'), failed: of('failed') }
}

/** A caller reaches an agent and is transferred to entry 3, whose ICONNET leg behaves as `mode`. */
async function transferTo (s: Stack, callerNum: string, mode: string, ringSeconds = 30): Promise<{ callId: string, customer: string }> {
  await s.admin.action('Setvar', { Variable: 'ICONNET_MODE', Value: mode })
  await s.admin.action('Setvar', { Variable: 'ICONNET_RING_SECONDS', Value: String(ringSeconds) })
  await s.admin.action('Setvar', { Variable: 'ICONNET_ANSWER', Value: 'no' })
  const { callId, token } = await s.call(callerNum)
  await s.http('POST', `/v1/calls/${callId}/inquiry`, token, { topic: 'activation', customer: budi })
  await s.http('POST', `/v1/calls/${callId}/consent`, token, { accepted: true })
  const press = await s.http('POST', `/v1/calls/${callId}/direct-transfer`, token, { target: 3 })
  if (press.status !== 200) throw new Error(`transfer refused: ${JSON.stringify(press.body)}`)
  const arrived = await waitFor('the customer at entry 3', () => s.pbxEvents.find(e => e.event === 'UserEvent' && e.fields.userevent === 'IconnetArrived' && e.fields.linkedid === callId))
  return { callId, customer: arrived.fields.channel as string }
}

/** A Dial event of the customer's channel towards the ICONNET leg (the queue's own Dials to the agents come first). */
const pbxSaw = (s: Stack, customer: string, event: string, dialStatus: string): AmiEvent | undefined =>
  s.pbxEvents.find(e => e.event === event && e.fields.channel === customer && e.fields.dialstatus === dialStatus && /@iconnet-cc-/.test(e.fields.destchannel ?? ''))

/** The call's view once its landing has `status` (polled through the API, as a supervisor would). */
async function landingOf (s: Stack, callId: string, status: string): Promise<any> {
  const deadline = Date.now() + 15_000
  for (;;) {
    const view = await s.http('GET', `/v1/calls/${callId}`, TOKENS.supervisor)
    if (view.body?.transfer?.landing?.status === status) return view.body
    if (Date.now() > deadline) throw new Error(`landing of ${callId} is not ${status}: ${JSON.stringify(view.body?.transfer)}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

t.test('where the transferred customer landed, on a real Asterisk', async t => {
  const s = await startStack(t)

  await t.test('answered at ICONNET', async t => {
    const before = await landings(s)
    const { callId, customer } = await transferTo(s, '0811777001', 'answer')
    const view = await landingOf(s, callId, 'answered')
    t.equal(view.state, 'transferred')
    t.equal(view.transfer.status, 'completed')
    t.ok(view.transfer.landing.waitSeconds >= 0 && typeof view.transfer.landing.waitSeconds === 'number', 'a wait in seconds')
    t.ok(Date.parse(view.transfer.landing.at) >= Date.parse(view.transfer.at), 'answered after being placed there')
    t.notOk('cause' in view.transfer.landing, 'no cause for an answer')
    // The test's own AMI session hears the DialEnd apart from the service's.
    t.ok(await waitFor('the DialEnd on the admin session', () => pbxSaw(s, customer, 'DialEnd', 'ANSWER') ? true : undefined), 'Asterisk said ANSWER for the customer\'s channel')
    // The customer talks to ICONNET, then hangs up: the landing stays answered.
    await s.admin.action('Hangup', { Channel: customer })
    await waitFor('the call over', () => s.svc.tracker.get(callId)?.endedAt !== undefined)
    await s.svc.tracker.lifecycle.saved(callId) // a landing is counted once durable
    const after = await s.http('GET', `/v1/calls/${callId}`, TOKENS.supervisor)
    t.equal(after.body.transfer.landing.status, 'answered', 'a final landing never changes')
    const m = await landings(s)
    t.equal(m.answered - before.answered, 1, 'counted once as answered')
    t.equal(m.abandoned - before.abandoned, 0, 'not as abandoned when the customer hangs up later')
  })

  await t.test('the customer hangs up while ICONNET rings: abandoned', async t => {
    const before = await landings(s)
    const { callId, customer } = await transferTo(s, '0811777002', 'ring')
    await waitFor('ICONNET ringing', () => pbxSaw(s, customer, 'DialState', 'RINGING'))
    const waiting = await s.http('GET', `/v1/calls/${callId}`, TOKENS.supervisor)
    t.same(waiting.body.transfer.landing, { status: 'waiting', at: waiting.body.transfer.at, waitSeconds: 0 }, 'waiting at the target while it rings')
    await s.admin.action('Hangup', { Channel: customer })
    const view = await landingOf(s, callId, 'abandoned')
    t.ok(view.transfer.landing.waitSeconds >= 0)
    // The DialEnd (CANCEL) and the customer's Hangup are two events; a landing is counted once durable.
    await waitFor('the call over', () => s.svc.tracker.get(callId)?.endedAt !== undefined || s.svc.tracker.get(callId) === undefined)
    t.ok((await s.http('GET', `/v1/calls/${callId}`, TOKENS.supervisor)).body.endedAt, 'the call is over')
    await s.svc.tracker.lifecycle.saved(callId)
    t.equal((await landings(s)).abandoned - before.abandoned, 1, 'counted as abandoned')
  })

  for (const [name, mode, ring, cause] of [
    ['ICONNET busy', 'busy', 30, 'BUSY'],
    ['ICONNET congested', 'congestion', 30, 'CONGESTION'],
    ['ICONNET does not answer within the Dial\'s timeout', 'ring', 1, 'NOANSWER']
  ] as const) {
    await t.test(`${name}: failed (${cause})`, async t => {
      const before = await landings(s)
      const { callId, customer } = await transferTo(s, `08117771${mode.length}${ring}`, mode, ring)
      const view = await landingOf(s, callId, 'failed')
      t.equal(view.transfer.landing.cause, cause, 'the cause is Asterisk\'s DialStatus')
      t.ok(await waitFor('the DialEnd on the admin session', () => pbxSaw(s, customer, 'DialEnd', cause) ? true : undefined), `Asterisk said ${cause} for the customer's channel`)
      if (mode === 'ring') t.ok(view.transfer.landing.waitSeconds >= 0.5, 'it rang about the Dial\'s timeout first')
      // The dialplan then hangs the customer up: the landing stays failed, the call is over.
      await waitFor('the call over', () => s.svc.tracker.get(callId)?.endedAt !== undefined || s.svc.tracker.get(callId) === undefined)
      await s.svc.tracker.lifecycle.saved(callId)
      const after = await s.http('GET', `/v1/calls/${callId}`, TOKENS.supervisor)
      t.equal(after.body.transfer.landing.status, 'failed', 'still failed after the dialplan\'s hangup')
      t.ok(after.body.endedAt, 'over')
      const m = await landings(s)
      t.equal(m.failed - before.failed, 1, 'counted once as failed')
      t.equal(m.abandoned - before.abandoned, 0, 'the dialplan\'s hangup is not an abandon')
    })
  }

  await t.test('a restart: a landing already reached stays; a waiting one is answered if the customer is bridged at the target, abandoned if gone', async t => {
    const answered = await transferTo(s, '0811777201', 'answer')
    await landingOf(s, answered.callId, 'answered')
    const ringing = await transferTo(s, '0811777202', 'ring')
    await waitFor('ICONNET ringing', () => pbxSaw(s, ringing.customer, 'DialState', 'RINGING'))
    const late = await transferTo(s, '0811777203', 'late')
    await waitFor('ICONNET ringing', () => pbxSaw(s, late.customer, 'DialState', 'RINGING'))
    t.equal(s.svc.tracker.get(late.callId)?.transfer?.landing?.status, 'waiting', 'ICONNET rings before it answers')
    await s.restartService(async () => {
      // While the service is down, ICONNET answers one customer and another hangs up.
      await s.admin.action('Setvar', { Variable: 'ICONNET_ANSWER', Value: 'yes' })
      await waitFor('ICONNET answered', () => pbxSaw(s, late.customer, 'DialEnd', 'ANSWER'))
      await s.admin.action('Hangup', { Channel: ringing.customer })
      for (let i = 0; i < 100; i++) {
        const live = await s.admin.list('CoreShowChannels')
        if (!live.items.some(c => c.fields.channel === ringing.customer)) break
        await new Promise(resolve => setTimeout(resolve, 50))
      }
    })
    const gone = await landingOf(s, ringing.callId, 'abandoned')
    t.ok(gone.endedAt, 'the call the customer left while the service was down is over')
    // A landing is counted once durable (the tracker's 'landing' event follows the commit).
    await s.svc.tracker.lifecycle.saved(ringing.callId)
    t.equal((await landings(s)).abandoned, 1, 'counted by the new service')
    await landingOf(s, late.callId, 'answered')
    t.pass('answered while the service was down: the resync finds the customer bridged at the target')
    await s.svc.tracker.lifecycle.saved(late.callId)
    t.equal((await landings(s)).answered, 1, 'counted by the new service')
    await s.admin.action('Hangup', { Channel: late.customer })
    const kept = await s.http('GET', `/v1/calls/${answered.callId}`, TOKENS.supervisor)
    t.equal(kept.body.transfer.landing.status, 'answered', 'the answered landing kept')
    t.equal(s.svc.tracker.get(answered.callId)?.state, 'transferred', 'still followed at the target')
    await s.admin.action('Hangup', { Channel: answered.customer })
    await waitFor('the answered call over', () => s.svc.tracker.get(answered.callId)?.endedAt !== undefined)
    t.equal((await s.http('GET', `/v1/calls/${answered.callId}`, TOKENS.supervisor)).body.transfer.landing.status, 'answered', 'its end after the restart changes nothing')
  })
})
