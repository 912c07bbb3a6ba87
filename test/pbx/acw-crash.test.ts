// "No agent stays paused forever because of the service": the real service process is
// SIGKILLed at each step of ACW (failpoints), restarted, and the agent must end up
// unpaused, not before its deadline. Against the real Asterisk sandbox.
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import YAML from 'yaml'
import { baseRawConfig, TOKENS } from '../helpers/config.ts'
import { eventually } from '../helpers/ami.ts'
import { ADMIN_USER, placeCall, sandboxClient, startSandbox } from './fixture.ts'
import { freePort } from './sandbox.ts'

const ACW_SECONDS = 3
// Killed once the deadline is stored (acw:saved) or after the pause (acw:paused), the
// deadline is the first process's: "paused after the restart" only means something if the
// ACW outlasts the restart (acw:released starts its ACW in the restarted process;
// acw:ending is past its deadline anyway). A restart takes 3 to 6 s in npm test's serial
// pass (it took 10 to 18 s when this file ran beside others on 2 cores); the test says
// so, rather than passing, if a restart ever outlasts the ACW.
const ACW_SECONDS_PAUSED = 14

t.setTimeout(240_000) // four kills and restarts, one of them waiting out a 25 s ACW

interface Child { proc: ChildProcess, out: () => string, exit: Promise<{ code: number | null, signal: NodeJS.Signals | null }> }

function startService (configFile: string, failpoint?: string): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { ...process.env, CTI_CONFIG: configFile, ...(failpoint !== undefined ? { CTI_FAILPOINTS: failpoint } : {}) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  proc.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  proc.stderr?.on('data', (d: Buffer) => { out += d.toString() })
  const exit = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>(resolve => proc.once('exit', (code, signal) => resolve({ code, signal })))
  return { proc, out: () => out, exit }
}

t.test('SIGKILL at each ACW step: after a restart no agent stays paused, none is freed early', async t => {
  const sb = await startSandbox(t)
  const { client: admin } = await sandboxClient(t, sb, ADMIN_USER)
  const memberPaused = async (agentId: string): Promise<boolean> => {
    const q = await admin.list('QueueStatus', { Queue: 'pln123' })
    return q.items.some(i => i.event === 'QueueMember' && i.fields.location === `Local/${agentId}@agents/n` && i.fields.paused === '1')
  }

  for (const step of ['acw:released', 'acw:saved', 'acw:paused', 'acw:ending']) {
    await t.test(`killed at ${step}`, async t => {
      const port = await freePort()
      const raw = baseRawConfig(sb.amiPort)
      raw.http.port = port
      raw.log.level = 'info'
      const seconds = step === 'acw:paused' || step === 'acw:saved' ? ACW_SECONDS_PAUSED : ACW_SECONDS
      raw.acw = { seconds, mode: 'fixed' }
      const dir = t.testdir({ 'c.yaml': YAML.stringify(raw) })
      const file = path.join(dir, 'c.yaml')
      const api = async (url: string): Promise<any> => await (await fetch(`http://127.0.0.1:${port}${url}`, { headers: { authorization: `Bearer ${TOKENS.supervisor}` } })).json()
      const ready = async (): Promise<boolean> => { try { return (await fetch(`http://127.0.0.1:${port}/readyz`)).ok } catch { return false } }

      const first = startService(file, step)
      t.teardown(() => { first.proc.kill('SIGKILL') })
      await eventually('first process ready', ready, 20_000)
      const caller = `08119${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`
      await placeCall(admin, caller)
      const agents = await eventually('a call connected', async () => { const a = await api('/v1/agents') as Array<{ id: string, state: string, callId?: string }>; return a.find(x => x.state === 'on_call') })
      const customer = await eventually('customer channel', async () => {
        const ch = await admin.list('CoreShowChannels')
        return ch.items.find(i => i.fields.calleridnum === caller && /^Local\/s@caller-.*;1$/.test(i.fields.channel ?? ''))?.fields.channel
      })
      const hungUpAt = Date.now()
      await admin.action('Hangup', { Channel: customer })
      const died = await Promise.race([first.exit, new Promise<undefined>(resolve => setTimeout(() => resolve(undefined), (seconds + 10) * 1000))])
      t.equal(died?.signal, 'SIGKILL', `the process died at ${step}`)
      t.match(first.out(), new RegExp(`failpoint ${step}`), 'at the armed failpoint')

      const second = startService(file)
      t.teardown(() => { second.proc.kill('SIGKILL') })
      await eventually('restarted process ready', ready, 20_000)
      if (step === 'acw:saved' || step === 'acw:paused') {
        t.ok(Date.now() - hungUpAt < seconds * 1000 - 1000, `the restart (ready ${Date.now() - hungUpAt} ms after the hangup) came before the ACW deadline, as this check needs`)
      }
      if (step !== 'acw:ending') {
        t.ok(await eventually('the agent paused for ACW after the restart', async () => await memberPaused(agents.id), 5000), 'paused for ACW')
      }
      const freedAt = await eventually('the agent unpaused', async () => (await memberPaused(agents.id)) ? undefined : Date.now(), (seconds + 10) * 1000)
      t.ok(freedAt - hungUpAt >= seconds * 1000 - 100, `not freed before the ACW deadline (${freedAt - hungUpAt} ms after the hangup)`)
      const view = await api(`/v1/agents/${agents.id}`)
      t.not(view.state, 'acw', 'ACW is over in the service too')
      t.equal(view.acwEndsAt, undefined)
      second.proc.kill('SIGTERM')
      t.equal((await second.exit).code, 0, 'clean shutdown')
    })
  }
})
