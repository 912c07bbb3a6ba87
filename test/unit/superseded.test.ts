import t from 'tap'
import { lastCallSaves } from '../../src/store/superseded.ts'
import type { Change } from '../../src/store/port.ts'
import type { Call } from '../../src/calls/types.ts'

const call = (callId: string, state: Call['state']): Change => ({ kind: 'call', call: { callId, state, offeredAt: '2026-12-02T00:00:00.000Z', source: 'ami' } })

t.test('the last save of each call, in the order of those last saves; other changes ignored', async t => {
  const changes: Change[] = [
    call('a', 'offered'),
    call('b', 'offered'),
    { kind: 'acwEnded', agentId: '1001' },
    call('a', 'connected'),
    call('c', 'offered'),
    call('b', 'ended')
  ]
  const kept = lastCallSaves(changes).map(c => `${c.call.callId}:${c.call.state}`)
  t.strictSame(kept, ['a:connected', 'c:offered', 'b:ended'])
  t.strictSame(lastCallSaves([{ kind: 'acwEnded', agentId: '1001' }]), [], 'no calls, nothing')
})
