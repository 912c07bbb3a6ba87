// Asterisk names a channel after the device it reaches: member interface
// `PJSIP/1001` gives channels `PJSIP/1001-0000002a`, `Local/1001@agents/n` gives
// `Local/1001@agents-0000001b;1`. This maps a live channel back to the configured
// agent, which is what a resync (CoreShowChannels) has to go on.
export function channelPrefix (memberInterface: string): string {
  const [tech, ...rest] = memberInterface.split('/')
  const resource = rest[0] ?? ''
  return `${tech ?? ''}/${resource}-`
}

/**
 * Maps a channel to the configured agent whose device it reaches, or undefined. The
 * prefixes are worked out once: the match runs on AMI events (BridgeEnter) and resyncs.
 */
export function channelMatcher (agents: ReadonlyArray<{ id: string, interface: string }>): (channel: string) => string | undefined {
  const prefixes = agents.map(a => ({ id: a.id, prefix: channelPrefix(a.interface) }))
  return (channel) => {
    for (const a of prefixes) {
      if (channel.startsWith(a.prefix)) {
        // Local channels have two halves; the ;1 half is the one bridged with the caller.
        if (channel.startsWith('Local/') && !channel.endsWith(';1')) continue
        return a.id
      }
    }
    return undefined
  }
}
