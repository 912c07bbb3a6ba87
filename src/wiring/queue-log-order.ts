// queue_log lines the service writes for an agent (ACWSTART, ACWEND) in the order a
// queue_log reader expects: after app_queue's own line for the end of the agent's call.
// The service hears a Hangup before app_queue has written COMPLETECALLER (app_queue does
// that on its own thread, then publishes AgentComplete), so an ACWSTART sent at once can
// land above it (seen on the sandbox: ENTERQUEUE, CONNECT, ACWSTART, COMPLETECALLER).
// Each agent's lines go out one after the other; an ACWSTART for a call app_queue handed
// out waits for that call's AgentComplete, at most `waitMs` (a restart that missed the
// event, a member removed mid-call): a line late is better than a line lost.
import type { QueueLogEntry, QueueLogPort } from '../acw/types.ts'

/** What it needs of the tracker (src/calls/tracker.ts): app_queue's AgentComplete, and whether a call came through a queue. */
export interface QueueCompletions {
  on: (event: 'queueComplete', listener: (callId: string) => void) => unknown
  get: (callId: string) => { queue?: string | undefined } | undefined
}

/** How many finished calls' AgentComplete are remembered (a few minutes of a busy center). */
const REMEMBERED = 2000

export function orderedQueueLog (tracker: QueueCompletions, port: QueueLogPort, waitMs: number): QueueLogPort {
  const completed = new Set<string>()
  const waiting = new Map<string, Set<() => void>>()
  tracker.on('queueComplete', callId => {
    completed.add(callId)
    if (completed.size > REMEMBERED) completed.delete(completed.values().next().value as string)
    for (const wake of waiting.get(callId) ?? []) wake()
  })
  const queueDone = async (callId: string): Promise<void> => {
    if (completed.has(callId) || tracker.get(callId)?.queue === undefined) return
    await new Promise<void>(resolve => {
      const wakers = waiting.get(callId) ?? new Set<() => void>()
      waiting.set(callId, wakers)
      // Woken or timed out, each waiter takes only itself off the call's list.
      const done = (): void => {
        clearTimeout(timer)
        wakers.delete(done)
        if (wakers.size === 0 && waiting.get(callId) === wakers) waiting.delete(callId)
        resolve()
      }
      const timer = setTimeout(done, waitMs)
      wakers.add(done)
    })
  }
  const perAgent = new Map<string, Promise<void>>()
  return {
    async write (entry: QueueLogEntry): Promise<void> {
      const before = perAgent.get(entry.agent) ?? Promise.resolve()
      const mine = before.then(async () => {
        if (entry.event === 'ACWSTART' && entry.callId !== 'NONE') await queueDone(entry.callId)
        await port.write(entry)
      })
      // The next line of the agent waits for this one, written or not (a failure is the caller's to log).
      const settled = mine.catch(() => {})
      perAgent.set(entry.agent, settled)
      void settled.then(() => { if (perAgent.get(entry.agent) === settled) perAgent.delete(entry.agent) })
      await mine
    }
  }
}
