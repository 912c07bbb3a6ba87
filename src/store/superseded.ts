// Which changes of a commit a later change in the same commit makes pointless to write.
//
// A call's row is written whole each time its state changes (an upsert of the full
// record), so of several saves of one call in one transaction only the last is ever
// visible: the others would be written and overwritten before anyone could read them.
// The journal puts many batches into one commit (group commit), and a busy AMI stream
// changes the same call several times in one group (Newchannel, DialBegin, AgentConnect,
// ... in one read), so dropping the earlier saves saves most of a group's writes. Nothing
// inside a commit reads the calls table, and no other table refers to it, so the order
// of the call saves among the other changes does not matter.
import type { Change } from './port.ts'

type CallChange = Extract<Change, { kind: 'call' }>

/** The last save of each call among `changes`, in the order of those last saves. */
export function lastCallSaves (changes: readonly Change[]): CallChange[] {
  const last = new Map<string, CallChange>()
  for (const c of changes) {
    if (c.kind !== 'call') continue
    // Deleting first puts a call saved again at the end: the result keeps the order of last saves.
    last.delete(c.call.callId)
    last.set(c.call.callId, c)
  }
  return [...last.values()]
}
