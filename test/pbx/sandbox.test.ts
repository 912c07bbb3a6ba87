// The sandbox itself: a free port per instance, two instances side by side from one
// cached root, and nothing (process, mount) left behind after stop or crash.
import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { PbxSandbox, probeSandbox } from './sandbox.ts'
import { eventually } from '../helpers/ami.ts'
import { skipFileWithout } from '../helpers/real-parts.ts'

await skipFileWithout(t, 'asterisk', probeSandbox)

// A process killed with its namespace may linger a moment as a zombie until reaped.
const alive = (pid: number | undefined): boolean => {
  if (pid === undefined || !existsSync(`/proc/${pid}`)) return false
  try { return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')) } catch { return false }
}
const mountsOf = (dir: string): string[] => {
  // Mounts live in the instance's own namespace: the host must never see them.
  return readFileSync('/proc/self/mounts', 'utf8').split('\n').filter(l => l.includes(dir) || l.includes('/pln123-cti/asterisk-root/'))
}

t.test('two sandboxes at once, each on its own port; nothing left after destroy and kill', async t => {
  const [a, b] = await Promise.all([PbxSandbox.start(), PbxSandbox.start()])
  t.not(a.amiPort, b.amiPort, 'a free port each')
  t.ok(a.running && b.running, 'both running from the same cached root')
  const pids = [a.asteriskPid(), b.asteriskPid()]
  t.ok(pids.every(p => alive(p)) && pids[0] !== pids[1], 'two Asterisk processes')
  t.same(mountsOf(a.dir), [], 'no sandbox mount is visible on the host')
  await a.destroy()
  await b.kill() // a crash, not a clean stop
  await b.destroy()
  await eventually('both Asterisk processes gone', async () => !pids.some(p => alive(p)), 5000)
  t.notOk(pids.some(p => alive(p)), 'no Asterisk left running')
  t.same(mountsOf(b.dir), [])
})
