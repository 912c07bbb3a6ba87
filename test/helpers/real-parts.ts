// The real parts some tests need (a browser, the Asterisk sandbox, later PostgreSQL).
// A missing part FAILS the test with the reason, so a run cannot lose its real-part
// tests and stay green; only an explicit opt-out turns that into a visible skip:
//   PLN123_ALLOW_MISSING=chromium,asterisk   (comma-separated part names, or "all")
// This is the one place in the tests that reads the variable (the two installers,
// test/ui/install-chromium.sh and test/pbx/build-root.sh, read it too). Only types
// come from tap here: the sandbox (and so the benchmarks and the demo) import this.
import type { Test } from 'tap'

export const ALLOW_MISSING_VAR = 'PLN123_ALLOW_MISSING'

export type RealPart = 'chromium' | 'asterisk' | 'postgres'

/** A real part is missing and no opt-out names it. */
export class MissingPartError extends Error {
  constructor (readonly part: RealPart, readonly reason: string) {
    super(`${part} is missing: ${reason} (to skip the tests that need it instead, set ${ALLOW_MISSING_VAR}=${part})`)
    this.name = 'MissingPartError'
  }
}

/** The parts the environment allows to be missing. */
export function allowedMissing (env: NodeJS.ProcessEnv = process.env): Set<string> {
  const names = (env[ALLOW_MISSING_VAR] ?? '').split(',').map(s => s.trim().toLowerCase()).filter(s => s !== '')
  return new Set(names)
}

/**
 * Called once a part is known to be missing: throws MissingPartError unless the
 * opt-out names the part, in which case it returns the skip reason to report.
 */
export function missingPart (part: RealPart, reason: string, env: NodeJS.ProcessEnv = process.env): string {
  const allowed = allowedMissing(env)
  if (!allowed.has(part) && !allowed.has('all')) throw new MissingPartError(part, reason)
  return `${part} is missing, allowed by ${ALLOW_MISSING_VAR}: ${reason}`
}

/** What a probe answers: the part, or why it is not there. */
export type Probed<T> = { value: T } | { missing: string }

/**
 * The part from `probe`, or undefined after marking `t` skipped (opt-out given).
 * Without the opt-out a missing part throws, which fails `t` with the reason.
 * Call it before the test does anything else: a skipped test must end at once.
 */
export async function needPart<T> (t: Test, part: RealPart, probe: () => Promise<Probed<T>>, env: NodeJS.ProcessEnv = process.env): Promise<T | undefined> {
  const got = await probe()
  if ('value' in got) return got.value
  t.plan(0, missingPart(part, got.missing, env))
  return undefined
}

/**
 * For a test file whose every test needs the part (called by the fixture such files
 * import, before they declare their tests). With the opt-out naming the part and the
 * part missing, each test the file declares is reported skipped with the reason.
 * Without the opt-out nothing is probed here: each test fails, with the reason, when
 * it tries to use the part. `root` is tap's root test (passed in, so that importing
 * this module never starts tap in a benchmark or the demo).
 */
export async function skipFileWithout (root: Test, part: RealPart, probe: () => Promise<Probed<unknown>>, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const allowed = allowedMissing(env)
  if (!allowed.has(part) && !allowed.has('all')) return undefined
  const got = await probe()
  if ('value' in got) return undefined
  const reason = missingPart(part, got.missing, env)
  // tap's own hook for skipping a child before it starts (its filter plugin uses it too).
  const inner = root.shouldSkipChild.bind(root)
  root.shouldSkipChild = extra => {
    (extra as { skip?: string }).skip = reason
    return inner(extra)
  }
  return reason
}
