// tap fixture: a real Asterisk for one test file, destroyed in teardown. A sandbox
// that cannot start fails the test with the reason; only the opt-out in
// test/helpers/real-parts.ts (PLN123_ALLOW_MISSING=asterisk) makes its tests skip.
import tap, { type Test } from 'tap'
import { AmiClient } from '../../src/ami/index.ts'
import { RecordingLog } from '../helpers/ami.ts'
import { skipFileWithout } from '../helpers/real-parts.ts'
import { ADMIN_USER, CTI_USER, PbxSandbox, probeSandbox, type AmiCredentials } from './sandbox.ts'

// Every test file that imports this fixture needs the sandbox.
await skipFileWithout(tap, 'asterisk', probeSandbox)

export async function startSandbox (t: Test): Promise<PbxSandbox> {
  const sb = await PbxSandbox.start()
  t.teardown(() => sb.destroy())
  return sb
}

/** An adapter logged in to the sandbox, closed in teardown. */
export async function sandboxClient (t: Test, sb: PbxSandbox, who: AmiCredentials = CTI_USER, events = 'on'): Promise<{ client: AmiClient, log: RecordingLog }> {
  const log = new RecordingLog()
  const client = new AmiClient({
    host: '127.0.0.1', port: sb.amiPort, ...who, events,
    actionTimeoutMs: 3000, connectTimeoutMs: 3000, pingIntervalMs: 5000,
    reconnect: { initialMs: 100, maxMs: 1000 }, logger: log
  })
  t.teardown(() => client.close())
  const up = new Promise<void>(resolve => client.once('connected', () => resolve()))
  client.start()
  await up
  return { client, log }
}

/** The test driver's Originate: a customer (Local/s@caller) dialling 123 into the queue. */
export async function placeCall (admin: AmiClient, callerNum: string, callerName = 'Pelanggan'): Promise<void> {
  await admin.action('Originate', {
    Channel: 'Local/s@caller',
    Context: 'inbound',
    Exten: '123',
    Priority: 1,
    CallerID: `"${callerName}" <${callerNum}>`,
    Async: 'true'
  })
}

export { ADMIN_USER, CTI_USER }
