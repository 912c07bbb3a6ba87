// The rule for real parts (test/helpers/real-parts.ts): a test whose browser or
// Asterisk is missing FAILS naming the part, unless PLN123_ALLOW_MISSING names it,
// and the installers exit non-zero with the reason when they cannot install.
// Each part is made missing for real: a CHROMIUM_PATH or PBX_ROOT that does not
// exist, and an apt-get / debootstrap that fail (fakes first in PATH).
import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { ALLOW_MISSING_VAR, MissingPartError, allowedMissing, missingPart } from '../helpers/real-parts.ts'
import { projectRoot } from '../pbx/sandbox.ts'

interface Run { status: number | null, out: string }

/** A directory with an apt-get and a debootstrap that fail, as on a machine without a mirror. */
async function failingTools (t: Test): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pln123-parts-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await mkdir(path.join(dir, 'bin'))
  for (const tool of ['apt-get', 'debootstrap']) {
    const file = path.join(dir, 'bin', tool)
    await writeFile(file, `#!/bin/sh\necho "${tool}: E: no mirror reachable (fake)" >&2\nexit 1\n`)
    await chmod(file, 0o755)
  }
  return dir
}

function run (cmd: string, args: string[], env: Record<string, string | undefined>): Run {
  const base = { ...process.env }
  delete base[ALLOW_MISSING_VAR]
  delete base.TAP // run the test files as plain processes, not as tap's children
  const r = spawnSync(cmd, args, { cwd: projectRoot, env: { ...base, ...env }, encoding: 'utf8', timeout: 110_000 })
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` }
}

const tsx = (file: string, env: Record<string, string | undefined>): Run => run(process.execPath, ['--import=tsx', file], env)

t.test('the helper: a missing part throws naming it; only the opt-out turns it into a skip reason', async t => {
  t.throws(() => missingPart('chromium', '/nope does not exist', {}), new MissingPartError('chromium', '/nope does not exist'))
  const err = t.throws(() => missingPart('asterisk', 'not root', { [ALLOW_MISSING_VAR]: 'chromium' })) as MissingPartError
  t.equal(err.part, 'asterisk', 'an opt-out for another part does not cover it')
  t.match(err.message, /^asterisk is missing: not root .*PLN123_ALLOW_MISSING=asterisk/)
  t.match(missingPart('asterisk', 'not root', { [ALLOW_MISSING_VAR]: ' chromium, Asterisk ' }), /^asterisk is missing, allowed by PLN123_ALLOW_MISSING: not root$/)
  t.match(missingPart('postgres', 'no server', { [ALLOW_MISSING_VAR]: 'all' }), /allowed/)
  t.same([...allowedMissing({ [ALLOW_MISSING_VAR]: 'chromium,,asterisk' })], ['chromium', 'asterisk'])
  t.same([...allowedMissing({})], [])
})

t.test('the browser test with Chromium missing: fails naming it; with the opt-out, a skip with the reason', async t => {
  const nowhere = '/nonexistent/pln123/chromium'
  const failed = tsx('test/ui/browser.test.ts', { CHROMIUM_PATH: nowhere })
  t.not(failed.status, 0, 'the test file fails', { output: failed.out })
  t.match(failed.out, `chromium is missing: ${nowhere} does not exist`, 'naming the part and why')
  t.notMatch(failed.out, /# SKIP/, 'not a skip')

  const skipped = tsx('test/ui/browser.test.ts', { CHROMIUM_PATH: nowhere, [ALLOW_MISSING_VAR]: 'chromium' })
  t.equal(skipped.status, 0, 'the test file passes', { output: skipped.out })
  t.match(skipped.out, `# SKIP chromium is missing, allowed by PLN123_ALLOW_MISSING: ${nowhere} does not exist`)
})

t.test('the sandbox tests with no Asterisk root (and none can be built): fail naming it; with the opt-out, skips', async t => {
  const tools = await failingTools(t)
  const env = { PBX_ROOT: path.join(tools, 'asterisk-root'), PATH: `${path.join(tools, 'bin')}:${process.env.PATH ?? ''}` }
  const failed = tsx('test/pbx/sandbox.test.ts', env)
  t.not(failed.status, 0, 'the test file fails', { output: failed.out })
  t.match(failed.out, 'asterisk is missing: cannot build the Asterisk sandbox root', 'naming the part and why')
  t.notMatch(failed.out, /# SKIP/, 'not a skip')

  // A file that reaches the sandbox through the fixture (as most do) skips too.
  for (const file of ['test/pbx/sandbox.test.ts', 'test/pbx/ami-sandbox.test.ts']) {
    const skipped = tsx(file, { ...env, [ALLOW_MISSING_VAR]: 'asterisk' })
    t.equal(skipped.status, 0, `${file} passes`, { output: skipped.out })
    t.match(skipped.out, /# SKIP asterisk is missing, allowed by PLN123_ALLOW_MISSING: cannot build the Asterisk sandbox root/, file)
    t.notMatch(skipped.out, /^\s*not ok/m, `${file}: nothing fails`)
  }
})

t.test('install-chromium.sh: exits non-zero with the reason when apt-get fails', async t => {
  const tools = await failingTools(t)
  const env = { CHROMIUM_PATH: '/nonexistent/pln123/chromium', CHROMIUM_LOCK: path.join(tools, 'chromium.lock'), PATH: `${path.join(tools, 'bin')}:${process.env.PATH ?? ''}` }
  const failed = run('bash', ['test/ui/install-chromium.sh'], env)
  t.equal(failed.status, 1, 'exit 1', { output: failed.out })
  t.match(failed.out, 'chromium is missing at /nonexistent/pln123/chromium: apt-get update failed')
  const allowed = run('bash', ['test/ui/install-chromium.sh'], { ...env, [ALLOW_MISSING_VAR]: 'chromium' })
  t.equal(allowed.status, 0, 'the opt-out lets the run go on')
  t.match(allowed.out, /allowed by PLN123_ALLOW_MISSING/, 'still saying what is missing')
})

t.test('build-root.sh: exits non-zero with the reason when debootstrap fails', async t => {
  const tools = await failingTools(t)
  const env = { PBX_ROOT: path.join(tools, 'asterisk-root'), PATH: `${path.join(tools, 'bin')}:${process.env.PATH ?? ''}` }
  const failed = run('bash', ['test/pbx/build-root.sh'], env)
  t.equal(failed.status, 1, 'exit 1', { output: failed.out })
  t.match(failed.out, /the Asterisk sandbox root is missing at .*: debootstrap failed/)
})
