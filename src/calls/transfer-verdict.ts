// Where a transferring call's customer is, read from the live channels (CoreShowChannels),
// for a transfer Asterisk did not confirm: after a restart, a lost session, a timeout.
import type { Call, ChannelSnapshot } from './types.ts'

/** Where a Direct Transfer entry places the customer, to recognise the customer there. */
export interface TransferTarget { context: string, exten: string }

export const NOT_MADE = 'not made: the customer is still with the agent; press again'

/**
 * Placed at the target (seen in its context/exten, or no longer with an agent leg that
 * is gone), still bridged with the agent, or gone; undefined when the channels do not
 * tell yet.
 */
export function transferVerdict (call: Call, channels: readonly ChannelSnapshot[], target?: TransferTarget): 'transferred' | 'connected' | 'ended' | undefined {
  const find = (name: string | undefined): ChannelSnapshot | undefined => name === undefined ? undefined : channels.find(c => c.channel === name)
  const customer = find(call.customerChannel)
  if (customer === undefined) return call.customerChannel === undefined ? undefined : 'ended'
  const agent = find(call.agentChannel)
  if (agent !== undefined && customer.bridgeId !== '' && customer.bridgeId === agent.bridgeId) return 'connected'
  if (target !== undefined && customer.context === target.context && customer.exten === target.exten) return 'transferred'
  if (agent === undefined) return 'transferred'
  return undefined
}
