// A call's transitions have one owner (src/calls/lifecycle.ts): each checks the
// from-state, hands the call to memory at once and to the store, announces it once
// durable, logs `from → to` once, and runs the outcome effects, in their declared order,
// inside the transaction that records the outcome.
import t from 'tap'
import { CallLifecycle } from '../../src/calls/lifecycle.ts'
import type { Outcome } from '../../src/calls/outcome-effects.ts'
import { MemoryCallRepository } from '../../src/calls/repository.ts'
import type { Call } from '../../src/calls/types.ts'
import type { Log } from '../../src/log.ts'

const ILLEGAL = { name: 'IllegalTransition', code: 'ILLEGAL_TRANSITION' }

interface Line { level: string, obj: Record<string, unknown>, msg: string | undefined }

function setup () {
  const lines: Line[] = []
  const rec = (level: string) => (obj: object | string, msg?: string): void => { lines.push({ level, obj: typeof obj === 'string' ? {} : obj as Record<string, unknown>, msg: typeof obj === 'string' ? obj : msg }) }
  const log: Log = { trace: rec('trace'), debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') }
  const repo = new MemoryCallRepository()
  let inTransaction = false
  const tx = repo.transaction.bind(repo)
  repo.transaction = (fn: () => void): Promise<void> => { // not async: a throw in fn stays synchronous
    inTransaction = true
    try { return tx(fn) } finally { inTransaction = false }
  }
  const memory = new Map<string, Call>() // the tracker's part: what the next event sees
  const announced: Array<{ callId: string, state: string, outcome?: Outcome }> = []
  const lifecycle = new CallLifecycle({
    repo,
    log,
    now: () => new Date('2026-12-02T08:00:00.000Z'),
    find: id => memory.get(id),
    remember: call => { memory.set(call.callId, call) },
    announce: (call, outcome) => { announced.push({ callId: call.callId, state: call.state, ...(outcome !== undefined ? { outcome } : {}) }) }
  })
  const offer = (callId: string): Call => lifecycle.offer({ callId, state: 'offered', offeredAt: '2026-12-02T07:59:00.000Z', source: 'ami', customerChannel: `PJSIP/trunk-${callId}` })
  const transitions = (): unknown[] => lines.filter(l => l.obj.transition !== undefined).map(l => l.obj.transition)
  return { lines, repo, memory, lifecycle, announced, offer, transitions, inTransaction: () => inTransaction }
}

const settle = async (): Promise<void> => { for (let i = 0; i < 10; i++) await Promise.resolve() }

t.test('a transition from the wrong state is refused: nothing saved, logged or announced', async t => {
  const s = setup()
  s.offer('c-1')
  const refused = [
    () => s.lifecycle.startTransfer('c-1', 3, '2026-12-02T08:00:00.000Z'), // offered → transferring
    () => s.lifecycle.backToAgent('c-1', { status: 'failed', target: 3, at: 'x' }), // offered → connected via "back to agent"
    () => s.lifecycle.transferOutcomeUnknown('c-1', { status: 'pending', target: 3, at: 'x' }),
    () => s.lifecycle.customerLeft('c-1'),
    () => s.lifecycle.offer({ callId: 'c-1', state: 'offered', offeredAt: 'x', source: 'cti' }), // offered twice
    () => s.lifecycle.connect('nope', '1001', {}, 'ami') // unknown call
  ]
  await settle()
  const before = { lines: s.lines.length, announced: s.announced.length }
  for (const [i, attempt] of refused.entries()) {
    t.throws(attempt, ILLEGAL, `attempt ${i} refused with ILLEGAL_TRANSITION`)
  }
  await settle()
  t.equal((await s.repo.get('c-1'))?.state, 'offered', 'the stored call did not move')
  t.equal((await s.repo.get('c-1'))?.transfer, undefined, 'nor was it changed')
  t.equal(s.memory.get('c-1')?.state, 'offered', 'nor did the one in memory')
  t.equal(s.lines.length, before.lines, 'nothing logged')
  t.equal(s.announced.length, before.announced, 'nothing announced')

  s.lifecycle.connect('c-1', '1001', { agentChannel: 'PJSIP/1001-1' }, 'ami')
  s.lifecycle.end('c-1', 'caller hung up')
  t.throws(() => s.lifecycle.end('c-1', 'again'), ILLEGAL, 'an ended call does not end twice')
  t.throws(() => s.lifecycle.transferred('c-1', 'iconnet', '3'), ILLEGAL, 'nor is an ended call transferred')
  t.throws(() => s.lifecycle.connect('c-1', '1001', {}, 'cti'), ILLEGAL, 'nor connected again')
})

t.test('each transition is logged once, from → to, with the call and the agent', async t => {
  const s = setup()
  s.offer('c-2')
  s.lifecycle.connect('c-2', '1001', { agentChannel: 'PJSIP/1001-2' }, 'ami')
  s.lifecycle.startTransfer('c-2', 3, '2026-12-02T08:00:00.000Z')
  s.lifecycle.transferOutcomeUnknown('c-2', { status: 'pending', target: 3, at: '2026-12-02T08:00:00.000Z', message: 'no answer' }) // not a transition
  s.lifecycle.backToAgent('c-2', { status: 'failed', target: 3, at: '2026-12-02T08:00:00.000Z', message: 'not made' })
  s.lifecycle.startTransfer('c-2', 3, '2026-12-02T08:00:01.000Z')
  s.lifecycle.transferred('c-2', 'iconnet', '3')
  s.lifecycle.customerLeft('c-2') // not a transition either
  await settle()
  t.same(s.transitions(), [
    '(new) → offered',
    'offered → connected',
    'connected → transferring',
    'transferring → connected',
    'connected → transferring',
    'transferring → transferred'
  ])
  const withTransition = s.lines.filter(l => l.obj.transition !== undefined)
  t.equal(s.lines.length, withTransition.length, 'no other line: one per transition')
  for (const l of withTransition.slice(1)) {
    t.equal(l.obj.callId, 'c-2')
    t.equal(l.obj.agentId, '1001', `${String(l.obj.transition)} names the agent`)
  }
  t.equal(withTransition.at(-1)?.msg, 'call transferred')
  t.same(s.announced.map(a => a.state), ['offered', 'connected', 'transferring', 'transferring', 'connected', 'transferring', 'transferred', 'transferred'], 'every saved change announced, once')
  t.same(s.announced.filter(a => a.outcome !== undefined), [{ callId: 'c-2', state: 'transferred', outcome: 'transferred' }], 'the outcome announced with the transfer')
  const stored = await s.repo.get('c-2')
  t.equal(stored?.state, 'transferred')
  t.equal(stored?.transfer?.status, 'completed')
  t.equal(stored?.endedAt, '2026-12-02T08:00:00.000Z', 'the customer left')
})

t.test('outcome effects run in their declared order inside the transaction, before the announcement', async t => {
  const s = setup()
  const ran: string[] = []
  s.lifecycle.setOutcomeEffects([
    (call, outcome) => { ran.push(`apkt ${outcome} tx=${String(s.inTransaction())} announced=${s.announced.some(a => a.outcome !== undefined)}`); call.apkt = { recordId: 'r-1', permasalahan: 'p' } },
    (_call, outcome) => { ran.push(`acw ${outcome} tx=${String(s.inTransaction())}`) },
    (_call, outcome) => { ran.push(`audit ${outcome} tx=${String(s.inTransaction())}`) }
  ])
  s.offer('c-3')
  s.lifecycle.connect('c-3', '1001', {}, 'ami')
  t.same(ran, [], 'no effects without an outcome')
  s.lifecycle.end('c-3', 'caller hung up')
  t.same(ran, ['apkt ended tx=true announced=false', 'acw ended tx=true', 'audit ended tx=true'])
  await settle()
  t.same((await s.repo.get('c-3'))?.apkt, { recordId: 'r-1', permasalahan: 'p' }, 'what an effect adds to the call is saved with it')
})

t.test('an outcome effect that fails: nothing written, memory as it was, nothing logged or announced', async t => {
  const s = setup()
  s.offer('c-4')
  s.lifecycle.connect('c-4', '1001', {}, 'ami')
  await settle()
  const lines = s.lines.length
  const announced = s.announced.length
  s.lifecycle.setOutcomeEffects([() => { throw new Error('no APKT record could be made') }])
  t.throws(() => s.lifecycle.end('c-4', 'caller hung up'), /no APKT record/)
  await settle()
  t.equal((await s.repo.get('c-4'))?.state, 'connected', 'the store still says connected')
  t.equal(s.memory.get('c-4')?.state, 'connected', 'and so does memory')
  t.equal(s.lines.length, lines, 'no "call ended" line for a call not recorded as ended')
  t.equal(s.announced.length, announced, 'not announced')
})

t.test('announced once durable, not before; saved() tells when', async t => {
  const s = setup()
  let commit = (): void => {}
  const durable = new Promise<void>(resolve => { commit = resolve })
  const tx = s.repo.transaction.bind(s.repo)
  s.repo.transaction = fn => tx(fn).then(async () => { await durable })
  s.offer('c-5')
  let saved = false
  void s.lifecycle.saved('c-5').then(() => { saved = true })
  await settle()
  t.equal(s.memory.get('c-5')?.state, 'offered', 'memory has it at once: the next event sees it')
  t.same(s.announced, [], 'not announced before the store confirms it')
  t.equal(saved, false, 'saved() waits')
  commit()
  await settle()
  t.same(s.announced, [{ callId: 'c-5', state: 'offered' }], 'announced once durable')
  t.equal(saved, true)
})

t.test('a change the store refuses is logged and never announced', async t => {
  const s = setup()
  s.offer('c-6')
  await settle()
  s.repo.transaction = async fn => { fn(); throw Object.assign(new Error('CHECK constraint failed'), { code: 'SQLITE_CONSTRAINT' }) }
  s.lifecycle.connect('c-6', '1001', {}, 'ami')
  await settle()
  t.same(s.announced.map(a => a.state), ['offered'], 'the refused change is not announced')
  t.equal(s.memory.get('c-6')?.state, 'offered', 'memory is back to what the store holds, so the event can be retried')
  t.ok(s.lines.some(l => l.level === 'error' && l.msg === 'call change not recorded' && l.obj.callId === 'c-6'), 'and it is logged as an error')
  await t.rejects(s.lifecycle.saved('c-6'), /CHECK constraint/, 'saved() says so')
})

t.test('a transfer\'s landing: waiting once transferred, then one final status that never changes', async t => {
  let clock = Date.parse('2026-12-02T08:00:00.000Z')
  const s = setup()
  const lifecycle = new CallLifecycle({ repo: s.repo, log: { trace () {}, debug () {}, info () {}, warn () {}, error () {} }, now: () => new Date(clock), find: id => s.memory.get(id), remember: call => { s.memory.set(call.callId, call) }, announce: (call) => { s.announced.push({ callId: call.callId, state: call.state }) } })
  s.offer('c-9')
  t.throws(() => lifecycle.landing('c-9', 'answered'), ILLEGAL, 'no landing before the call is transferred')
  lifecycle.connect('c-9', '1001', { agentChannel: 'PJSIP/1001-9' }, 'ami')
  lifecycle.startTransfer('c-9', 3, '2026-12-02T08:00:00.000Z')
  lifecycle.transferred('c-9', 'direct-transfer', '3')
  await settle()
  t.same((await s.repo.get('c-9'))?.transfer?.landing, { status: 'waiting', at: '2026-12-02T08:00:00.000Z', waitSeconds: 0 }, 'placed at the target: waiting')

  clock += 12_345
  const before = s.announced.length
  const landed = lifecycle.landing('c-9', 'failed', 'BUSY')
  await settle()
  t.same(landed.transfer?.landing, { status: 'failed', at: '2026-12-02T08:00:12.345Z', waitSeconds: 12.3, cause: 'BUSY' })
  t.same((await s.repo.get('c-9'))?.transfer?.landing, landed.transfer?.landing, 'saved')
  t.equal(s.announced.length, before + 1, 'announced like other call changes')
  t.equal((await s.repo.get('c-9'))?.transfer?.status, 'completed', 'the transfer itself stays completed')

  for (const status of ['answered', 'abandoned', 'failed'] as const) {
    t.throws(() => lifecycle.landing('c-9', status), ILLEGAL, `a final landing does not become ${status}`)
  }
  await settle()
  t.equal((await s.repo.get('c-9'))?.transfer?.landing?.status, 'failed', 'the first word stands')
  t.equal(s.announced.length, before + 1, 'a refused landing is not announced')
})
