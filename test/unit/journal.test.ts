// The journal (src/store/journal.ts) in front of an engine whose commits the test decides:
// each one resolves, rejects as "the store is away" (an outage), rejects as a bug, or
// hangs until released. What is checked is what the service relies on: changes land in
// the order they were made, batches handed in during a commit share the next one, an
// outage loses nothing, a bad batch costs only itself, close() writes what it can and
// refuses the rest, and nobody is left with an unhandled rejection.
import t from 'tap'
import type { Log } from '../../src/log.ts'
import { Journal, JournalClosed } from '../../src/store/journal.ts'
import type { Change } from '../../src/store/port.ts'

// The journal's retry timer is unref'd (it must not hold a stopping process open); in
// the service the HTTP server keeps the loop alive, here this does.
const alive = setInterval(() => {}, 1000)
t.teardown(() => { clearInterval(alive) })

/** What an engine throws when it cannot take writes now (disk full, server gone). */
class Unavailable extends Error { readonly code = 'FAKE_UNAVAILABLE' }
/** What an engine throws for a change it refuses (a constraint: a bug, not an outage). */
class Refused extends Error { readonly code = 'FAKE_CONSTRAINT' }

const REFUSED = { code: 'FAKE_CONSTRAINT', message: 'constraint failed' }
const CLOSED = { name: 'JournalClosed', code: 'STORE_CLOSED' }

type Mode = 'ok' | 'down' | 'hang'

interface Held { changes: readonly Change[], resolve: () => void, reject: (err: unknown) => void }

/** A Store-like engine: `committed` holds every transaction that committed, in order. */
class FakeEngine {
  mode: Mode = 'ok'
  /** Transactions that committed, each as the ids of its changes. */
  committed: string[][] = []
  /** Every commit asked for, whatever became of it. */
  attempts = 0
  /** Changes with these ids make their transaction fail as a bug would. */
  readonly bad = new Set<string>()
  /** Changes with these ids make their transaction fail as "away" (while listed). */
  readonly away = new Set<string>()
  /** Commits waiting while mode is 'hang' (release() settles them). */
  held: Held[] = []

  commit = async (changes: readonly Change[]): Promise<void> => {
    this.attempts++
    // An engine answers later, never in the caller's turn.
    await new Promise(resolve => setImmediate(resolve))
    if (this.mode === 'hang') {
      await new Promise<void>((resolve, reject) => { this.held.push({ changes, resolve, reject }) })
    } else if (this.mode === 'down') {
      throw new Unavailable('disk full')
    }
    if (changes.some(c => this.bad.has(idOf(c)))) throw new Refused('constraint failed')
    if (changes.some(c => this.away.has(idOf(c)))) throw new Unavailable('disk full')
    this.committed.push(changes.map(idOf))
  }

  isUnavailable = (err: unknown): boolean => err instanceof Unavailable

  /** Lets the held commits go on (they commit, or fail as the engine now would). */
  release (mode: Mode = 'ok'): void {
    this.mode = mode
    const held = this.held.splice(0)
    for (const h of held) {
      if (mode === 'down') h.reject(new Unavailable('disk full'))
      else h.resolve()
    }
  }

  /** Every committed change id, in commit order. */
  get written (): string[] { return this.committed.flat() }
}

/** A change the test can recognise in the engine's transactions. */
const ch = (id: string): Change => ({ kind: 'acwEnded', agentId: id })
const idOf = (c: Change): string => c.kind === 'acwEnded' ? c.agentId : `?${c.kind}`

interface Line { level: string, obj: unknown, msg: string | undefined }

function setup (opts: { retryMs?: number, maxRetryMs?: number, maxGroupChanges?: number } = {}) {
  const engine = new FakeEngine()
  const lines: Line[] = []
  const rec = (level: string) => (obj: object | string, msg?: string): void => { lines.push({ level, obj, msg }) }
  const log: Log = { trace: rec('trace'), debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') }
  const journal = new Journal({ store: engine, log, retryMs: opts.retryMs ?? 5, maxRetryMs: opts.maxRetryMs ?? 20, ...(opts.maxGroupChanges !== undefined ? { maxGroupChanges: opts.maxGroupChanges } : {}) })
  const events: string[] = []
  journal.on('outage', () => { events.push('outage') })
  journal.on('recovered', n => { events.push(`recovered:${n}`) })
  return { engine, journal, lines, events }
}

/** Waits until `cond` holds (polling every few ms), failing after `ms`. */
async function until (cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`)
    await new Promise(resolve => setTimeout(resolve, 2))
  }
}

/** How a promise stands now: 'pending', 'resolved' or the rejection. */
async function state (p: Promise<unknown>): Promise<unknown> {
  const pending = Symbol('pending')
  const r = await Promise.race([p.then(() => 'resolved', (err: unknown) => err), new Promise(resolve => setImmediate(() => resolve(pending)))])
  return r === pending ? 'pending' : r
}

t.test('order: batches land in the order handed in, across many groups', async t => {
  const { engine, journal } = setup({ maxGroupChanges: 3 })
  const resolvedOrder: string[] = []
  const all: Array<Promise<void>> = []
  const ids: string[] = []
  // Batches of 1 and 2 changes handed in over several turns while commits are going on.
  for (let turn = 0; turn < 6; turn++) {
    for (let k = 0; k < 4; k++) {
      const a = `${turn}.${k}a`
      const b = `${turn}.${k}b`
      const p = k % 2 === 0 ? journal.add(ch(a)) : journal.add(ch(a), ch(b))
      ids.push(a)
      if (k % 2 === 1) ids.push(b)
      all.push(p.then(() => { resolvedOrder.push(a) }))
    }
    await new Promise(resolve => setImmediate(resolve))
  }
  await Promise.all(all)
  t.same(engine.written, ids, 'every change written once, in the order handed in')
  t.same(resolvedOrder, ids.filter(id => id.endsWith('a')), 'each batch resolves in order, once durable')
  t.ok(engine.committed.length > 1, 'in more than one transaction')
  for (const tx of engine.committed) t.ok(tx.length <= 3, `a transaction holds at most maxGroupChanges (${tx.length})`)
  t.ok(engine.committed.some(tx => tx.length > 2), 'batches were grouped')
  await journal.flushed()
  t.equal(journal.backlog, 0, 'nothing left queued')
})

t.test('a batch larger than maxGroupChanges still commits, whole and alone', async t => {
  const { engine, journal } = setup({ maxGroupChanges: 2 })
  engine.mode = 'hang'
  const first = journal.add(ch('x'))
  await until(() => engine.held.length === 1, 'the first commit')
  const big = journal.add(ch('a'), ch('b'), ch('c'), ch('d'))
  const after = journal.add(ch('e'))
  engine.release()
  await Promise.all([first, big, after])
  t.same(engine.committed, [['x'], ['a', 'b', 'c', 'd'], ['e']])
})

t.test('group commit: batches handed in during a commit share the next one', async t => {
  const { engine, journal } = setup()
  engine.mode = 'hang'
  const first = journal.add(ch('first'))
  await until(() => engine.held.length === 1, 'the first commit to start')
  const during = ['b1', 'b2', 'b3', 'b4', 'b5'].map(id => journal.add(ch(id)))
  t.equal(journal.backlog, 5, 'five batches wait behind the commit in flight')
  t.equal(engine.attempts, 1, 'never two commits in flight')
  for (const p of during) t.equal(await state(p), 'pending', 'not durable before its commit')
  engine.release()
  await Promise.all([first, ...during])
  t.same(engine.committed, [['first'], ['b1', 'b2', 'b3', 'b4', 'b5']], 'one commit for the first, one for all five')
  t.equal(engine.attempts, 2)
})

t.test('batch(fn): every add() fn makes, nested batches included, is one commit', async t => {
  const { engine, journal } = setup()
  engine.mode = 'hang'
  const before = journal.add(ch('before'))
  await until(() => engine.held.length === 1, 'a commit in flight')
  let inner: Promise<void> | undefined
  let nested: { value: string, saved: Promise<void> } | undefined
  const { value, saved } = journal.batch(() => {
    inner = journal.add(ch('o1'))
    nested = journal.batch(() => { void journal.add(ch('n1'), ch('n2')); return 'inner value' })
    void journal.add(ch('o2'))
    return 42
  })
  t.equal(value, 42, "fn's value is returned")
  t.equal(nested?.value, 'inner value', "a nested batch returns its fn's value")
  const alone = journal.add(ch('alone'))
  engine.release()
  await Promise.all([before, saved, alone])
  t.same(engine.committed, [['before'], ['o1', 'n1', 'n2', 'o2', 'alone']], 'the batch kept its order and was written whole, grouped with what followed')
  t.equal(await state(inner ?? Promise.reject(new Error('no add'))), 'resolved', 'an add() inside resolves with its batch')
  t.equal(await state(nested?.saved ?? Promise.reject(new Error('no nested'))), 'resolved', 'so does the nested batch')
})

t.test('batch(fn): a batch is atomic in the engine: one refused change refuses all of it', async t => {
  const { engine, journal } = setup()
  engine.bad.add('b2')
  const { saved } = journal.batch(() => { void journal.add(ch('b1')); void journal.add(ch('b2')); void journal.add(ch('b3')) })
  await t.rejects(saved, REFUSED, 'the batch is refused')
  t.same(engine.written, [], 'nothing of it written')
})

t.test('batch(fn): when fn throws nothing of it is written; the journal goes on', async t => {
  const { engine, journal } = setup()
  let inside: Promise<void> | undefined
  const boom = new Error('effect failed')
  t.throws(() => journal.batch(() => {
    inside = journal.add(ch('half'))
    throw boom
  }), boom, "fn's error is thrown to the caller")
  t.equal(await state(inside ?? Promise.resolve()), boom, "the add() made inside is rejected with fn's error (not left pending)")
  await journal.add(ch('next'))
  t.same(engine.written, ['next'], 'the half-made batch was not written; the next one was')

  // A nested batch that throws, caught by the outer fn: the outer batch goes on
  // without any of the inner one's changes.
  const { saved } = journal.batch(() => {
    void journal.add(ch('outer-1'))
    try {
      journal.batch(() => { void journal.add(ch('inner-1')); throw boom })
    } catch {}
    void journal.add(ch('outer-2'))
  })
  await saved
  t.same(engine.written, ['next', 'outer-1', 'outer-2'], "the inner batch's changes were dropped, the outer's written")
})

t.test('outage: every batch is kept and written in order once the engine takes writes', async t => {
  const { engine, journal, events, lines } = setup({ retryMs: 5, maxRetryMs: 10 })
  await journal.add(ch('ok-before'))
  engine.mode = 'down'
  const kept = [journal.add(ch('k1')), journal.add(ch('k2'), ch('k3'))]
  await until(() => !journal.healthy, 'the outage to be noticed')
  t.same(events, ['outage'], "'outage' once")
  t.ok(lines.some(l => l.level === 'error' && /unavailable/.test(l.msg ?? '')), 'the outage is logged')
  kept.push(journal.add(ch('k4')))
  const { saved } = journal.batch(() => { void journal.add(ch('k5')); void journal.add(ch('k6')) })
  kept.push(saved)
  // Several retries fail meanwhile: still one outage, nothing rejected, nothing written.
  const attempts = engine.attempts
  await until(() => engine.attempts >= attempts + 3, 'a few retries')
  t.same(events, ['outage'], "still one 'outage' after several failed retries")
  t.equal(journal.healthy, false, 'not healthy while the engine refuses writes')
  for (const p of kept) t.equal(await state(p), 'pending', 'a kept batch is neither rejected nor resolved')
  t.same(engine.written, ['ok-before'], 'nothing written while down')

  engine.mode = 'ok'
  await Promise.all(kept)
  t.same(engine.written, ['ok-before', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6'], 'all kept changes written, in order')
  t.equal(journal.healthy, true, 'healthy again')
  t.same(events, ['outage', 'recovered:4'], "'recovered' once, with the number of batches written")
  await journal.add(ch('after'))
  t.same(engine.written.at(-1), 'after', 'the journal goes on')
  t.same(events, ['outage', 'recovered:4'], 'no further event')
})

t.test('outage: healthy stays false until the whole backlog is written, even in slices', async t => {
  const { engine, journal, events } = setup({ retryMs: 5, maxRetryMs: 10, maxGroupChanges: 2 })
  engine.mode = 'down'
  const ids = ['s1', 's2', 's3', 's4', 's5', 's6', 's7']
  const kept = ids.map(id => journal.add(ch(id)))
  await until(() => !journal.healthy, 'the outage')
  // Each slice commits only while the test lets it, so healthy can be read between slices.
  engine.mode = 'hang'
  const seen: Array<{ written: number, healthy: boolean }> = []
  while (engine.written.length < ids.length) {
    await until(() => engine.held.length === 1, 'the next slice')
    seen.push({ written: engine.written.length, healthy: journal.healthy })
    engine.release('hang')
    await until(() => engine.held.length === 1 || engine.written.length === ids.length, 'the slice to commit')
  }
  engine.release('ok')
  await Promise.all(kept)
  t.same(engine.committed, [['s1', 's2'], ['s3', 's4'], ['s5', 's6'], ['s7']], 'in slices of maxGroupChanges, in order')
  t.same(seen.map(s => s.healthy), [false, false, false, false], 'not healthy while part of the backlog waits')
  t.equal(journal.healthy, true, 'healthy once all of it is written')
  t.same(events, ['outage', 'recovered:7'], "'recovered' once, after the last kept batch")
})

t.test('outage while isolating a bad batch: the rest is kept, in order', async t => {
  const { engine, journal, events } = setup({ retryMs: 5, maxRetryMs: 10 })
  engine.mode = 'hang'
  const first = journal.add(ch('first'))
  await until(() => engine.held.length === 1, 'a commit in flight')
  engine.bad.add('bad')
  engine.away.add('c') // the store goes away just as c is written on its own
  const a = journal.add(ch('a'))
  const bad = journal.add(ch('bad'))
  const c = journal.add(ch('c'))
  const d = journal.add(ch('d'))
  engine.release('hang') // first commits; the group [a, bad, c, d] is held next
  await until(() => engine.held.length === 1, 'the group')
  engine.release('ok') // the group fails on 'bad'; one batch at a time follows
  await a
  await t.rejects(bad, REFUSED)
  await until(() => !journal.healthy, 'the outage')
  t.equal(await state(c), 'pending', 'c is kept')
  t.equal(await state(d), 'pending', 'so is d, behind it')
  engine.away.delete('c')
  await Promise.all([c, d])
  await first
  t.same(engine.written, ['first', 'a', 'c', 'd'], 'in order, nothing of the bad batch')
  t.same(events, ['outage', 'recovered:2'])
})

t.test('a bug error rejects only the bad batch: the others of its group commit', async t => {
  const { engine, journal, events, lines } = setup()
  engine.mode = 'hang'
  const first = journal.add(ch('first'))
  await until(() => engine.held.length === 1, 'a commit in flight')
  engine.bad.add('bad')
  const a = journal.add(ch('a1'), ch('a2'))
  const bad = journal.add(ch('b1'), ch('bad'))
  const c = journal.add(ch('c1'))
  engine.release()
  await first
  await t.rejects(bad, REFUSED, 'the bad batch is rejected with the engine error')
  await t.resolves(a)
  await t.resolves(c)
  t.same(engine.written, ['first', 'a1', 'a2', 'c1'], 'the others were written, in order; nothing of the bad one')
  t.equal(journal.healthy, true, 'a bug is not an outage')
  t.same(events, [], 'no outage event')
  t.ok(lines.some(l => l.level === 'error' && /refused/.test(l.msg ?? '')), 'the refused change is logged')
  await journal.add(ch('later'))
  t.equal(engine.written.at(-1), 'later', 'the journal goes on')
})

t.test('close(): writes what is queued, then refuses later adds with JournalClosed', async t => {
  const { engine, journal } = setup()
  engine.mode = 'hang'
  const queued = [journal.add(ch('q1')), journal.add(ch('q2')), journal.add(ch('q3'))]
  await until(() => engine.held.length === 1, 'a commit in flight')
  const closing = journal.close(5000)
  t.equal(await state(closing), 'pending', 'close waits for the queue')
  engine.release()
  await closing
  await Promise.all(queued)
  t.same(engine.written, ['q1', 'q2', 'q3'], 'everything queued was written')
  const late = journal.add(ch('late'))
  await t.rejects(late, CLOSED, 'a later add is refused')
  t.type(await state(late), JournalClosed)
  await t.rejects(journal.batch(() => { void journal.add(ch('late-batch')) }).saved, CLOSED, 'so is a later batch')
  t.same(engine.written, ['q1', 'q2', 'q3'], 'nothing written after close')
  await journal.close() // twice is fine
})

t.test('close() during an outage: after its timeout, what is kept is rejected with JournalClosed', async t => {
  const { engine, journal, lines } = setup({ retryMs: 5, maxRetryMs: 10 })
  engine.mode = 'down'
  const kept = [journal.add(ch('k1')), journal.add(ch('k2'))]
  await until(() => !journal.healthy, 'the outage')
  await journal.close(50)
  for (const p of kept) await t.rejects(p, CLOSED)
  t.ok(lines.some(l => l.level === 'error' && /closed with changes not written/.test(l.msg ?? '')), 'the loss is logged')
  const attempts = engine.attempts
  engine.mode = 'ok'
  await new Promise(resolve => setTimeout(resolve, 50))
  t.equal(engine.attempts, attempts, 'no retry after close')
  t.same(engine.written, [])
})

t.test('close() with a commit that hangs: returns after its timeout, refuses what waited behind it', async t => {
  const { engine, journal } = setup()
  engine.mode = 'hang'
  const inFlight = journal.add(ch('stuck'))
  await until(() => engine.held.length === 1, 'a commit in flight')
  const behind = journal.add(ch('behind'))
  await journal.close(50)
  await t.rejects(behind, CLOSED, 'the batch behind the stuck commit is refused')
  await t.rejects(journal.add(ch('late')), CLOSED)
  // The stuck commit fails as "away" after close: it is refused, not kept for a retry
  // that will never come.
  engine.release('down')
  const outcome = await Promise.race([inFlight.then(() => 'resolved', (err: unknown) => err), new Promise(resolve => setTimeout(() => resolve('still pending'), 200))])
  t.type(outcome, JournalClosed, 'the commit in flight, failed after close, is refused (not kept for a retry)')
  t.equal(engine.attempts, 1, 'not retried')
})

t.test('an unawaited failing add does not cause an unhandled rejection', async t => {
  const unhandled: unknown[] = []
  const onUnhandled = (err: unknown): void => { unhandled.push(err) }
  process.on('unhandledRejection', onUnhandled)
  t.teardown(() => { process.off('unhandledRejection', onUnhandled) })

  const { engine, journal } = setup({ retryMs: 5, maxRetryMs: 10 })
  engine.bad.add('bad')
  void journal.add(ch('bad'))
  journal.add(ch('bad'), ch('x')).then(() => {}, () => {}) // awaited by someone: still fine
  void journal.batch(() => { void journal.add(ch('bad')) }).saved
  journal.batch(() => { void journal.add(ch('bad')) }) // the batch's promise dropped altogether
  t.throws(() => journal.batch(() => { void journal.add(ch('half')); throw new Error('fn failed') }))
  await journal.flushed()
  // An outage that ends in close(): the kept batches are rejected, nobody awaits them.
  engine.mode = 'down'
  void journal.add(ch('k1'))
  await until(() => !journal.healthy, 'the outage')
  await journal.close(20)
  void journal.add(ch('after-close'))
  void journal.flushed()
  // Unhandled rejections are reported after the microtask queue drains.
  await new Promise(resolve => setTimeout(resolve, 50))
  t.same(unhandled, [], 'no unhandled rejection')
  t.same(engine.written, [])
})
