// Fault: the service process is SIGKILLed in the middle of a transfer, at the two points
// where the store and Asterisk can disagree (failpoints in src/wiring/transfer.ts):
//  - transfer:sending: "transferring" is recorded, the BlindTransfer never left;
//  - transfer:sent: Asterisk has done it, the service may not have recorded it.
// Real process of src/server.ts, real Asterisk. After a restart the call must be in a
// state that tells the truth (and lets the agent go on): connected again in the first
// case (a new press transfers, once), transferred in the second (a new press is refused,
// no second BlindTransfer), with exactly one APKT record and no agent left paused.
import t from 'tap'
import type { AmiEvent } from '../../src/ami/index.ts'
import { baseRawConfig, TOKENS } from '../helpers/config.ts'
import { eventually } from '../helpers/ami.ts'
import { ADMIN_USER, placeCall, sandboxClient, startSandbox } from '../pbx/fixture.ts'
import { freePort } from '../pbx/sandbox.ts'
import { http, spawnService, stopProc, writeConfig } from './lib.ts'

const ACW_SECONDS = 2
const agentToken = (id: string): string => id === '1001' ? TOKENS.agent1001 : TOKENS.agent1002

t.test('SIGKILL inside a transfer, then restart', async t => {
  const sb = await startSandbox(t)
  const { client: admin } = await sandboxClient(t, sb, ADMIN_USER)
  const pbx: AmiEvent[] = []
  admin.on('event', e => pbx.push(e))
  const port = await freePort()
  const raw = baseRawConfig(sb.amiPort)
  raw.http.port = port
  raw.log.level = 'info'
  raw.acw = { seconds: ACW_SECONDS, mode: 'fixed' }
  const file = writeConfig(raw)
  const base = `http://127.0.0.1:${port}`
  const api = async (method: 'GET' | 'POST', url: string, token: string, body?: unknown) => await http(base, method, url, token, body)
  const boot = async (failpoints?: string) => {
    const p = spawnService({ configFile: file, ...(failpoints !== undefined ? { failpoints } : {}) })
    t.teardown(() => stopProc(p))
    await eventually('ready', async () => (await http(base, 'GET', '/readyz')).status === 200, 20_000)
    await eventually('resynced', async () => p.lines().some(l => l.msg === 'call state resynced from Asterisk') ? true : undefined)
    return p
  }
  const paused = async (agentId: string): Promise<boolean> => {
    const q = await admin.list('QueueStatus', { Queue: 'pln123' })
    return q.items.some(i => i.event === 'QueueMember' && i.fields.location === `Local/${agentId}@agents/n` && i.fields.paused === '1')
  }

  for (const [step, caller] of [['transfer:sending', '0811980001'], ['transfer:sent', '0811980002']] as const) {
    await t.test(`killed at ${step}`, async t => {
      const first = await boot(step)
      await placeCall(admin, caller)
      const ac = await eventually('at an agent', async () => pbx.find(e => e.event === 'AgentConnect' && e.fields.calleridnum === caller), 15_000)
      const callId = ac.fields.linkedid ?? ''
      const agentId = /Local\/(\d+)@/.exec(ac.fields.interface ?? '')?.[1] as string
      await eventually('call known', async () => (await api('GET', `/v1/calls/${callId}`, TOKENS.supervisor)).body.state === 'connected' ? true : undefined)
      await api('POST', `/v1/calls/${callId}/inquiry`, agentToken(agentId), { topic: 'activation', customer: { name: 'Budi', salutation: 'Bapak' } })
      await api('POST', `/v1/calls/${callId}/consent`, agentToken(agentId), { accepted: true })
      const press = await api('POST', `/v1/calls/${callId}/direct-transfer`, agentToken(agentId), { target: 3 })
      t.equal(press.status, 0, 'the process died under the press (no answer)')
      t.equal((await first.exit).signal, 'SIGKILL')
      t.match(first.out(), `failpoint ${step}`)

      const second = await boot()
      const view = await eventually('settled after the restart', async () => {
        const r = await api('GET', `/v1/calls/${callId}`, TOKENS.supervisor)
        return r.body.state !== 'transferring' ? r.body : undefined
      }, 5000).catch(async () => (await api('GET', `/v1/calls/${callId}`, TOKENS.supervisor)).body)
      const again = await api('POST', `/v1/calls/${callId}/direct-transfer`, agentToken(agentId), { target: 3 })
      if (step === 'transfer:sending') {
        t.match(view, { state: 'connected', transfer: { status: 'failed' } }, `nothing was sent: the call is connected again (${JSON.stringify(view)})`)
        t.equal(again.status, 200, `the agent presses again and it transfers: ${JSON.stringify(again.body)}`)
      } else {
        t.match(view, { state: 'transferred', transfer: { status: 'completed' } }, `Asterisk did it: the call is transferred (${JSON.stringify(view)})`)
        t.equal(again.status, 409, 'a new press is refused')
        t.equal(again.body.error, 'ALREADY_TRANSFERRED')
      }
      const arrivals = await eventually('the customer at ICONNET', async () => {
        const a = pbx.filter(e => e.event === 'UserEvent' && e.fields.userevent === 'IconnetArrived' && e.fields.linkedid === callId)
        return a.length > 0 ? a : undefined
      })
      t.equal(arrivals.length, 1, 'the customer arrived once')
      t.equal(pbx.filter(e => e.event === 'BlindTransfer' && e.fields.transfereelinkedid === callId).length, 1, 'one BlindTransfer of this call in all')
      const recs = await eventually('its APKT record', async () => {
        const r = await api('GET', '/v1/apkt/records?limit=100', TOKENS.supervisor)
        const mine = (r.body.records as Array<{ callId: string, record: { permasalahan: string } }>).filter(x => x.callId === callId)
        return mine.length > 0 ? mine : undefined
      })
      t.equal(recs.length, 1, 'exactly one APKT record')
      t.equal(recs[0]?.record.permasalahan, 'ICONNET : TRANSFER CALL')
      await eventually('the agent in ACW, then free', async () => !(await paused(agentId)) && (await api('GET', `/v1/agents/${agentId}`, TOKENS.supervisor)).body.state === 'ready' ? true : undefined, (ACW_SECONDS + 5) * 1000)
      t.pass(`agent ${agentId} not left paused`)
      await admin.action('Hangup', { Channel: arrivals[0]?.fields.channel ?? '' })
      await stopProc(second, 'SIGTERM')
      t.equal((await second.exit).code, 0)
    })
  }
})
