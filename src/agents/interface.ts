// The phone an agent sits at, as a queue member interface (`PJSIP/1001`,
// `Local/1001@agents/n`). It ends up in AMI headers (QueueAdd, QueuePause, QueueLog)
// and comes from clients at run time (admin API, login), so it is checked here once,
// before anything reaches Asterisk: one line, no control characters, the characters
// Asterisk's interface names use, and a technology the config allows
// (`agentInterfaces.technologies`), so a typo such as `PSJIP/1001` is refused with the
// list instead of being added as a member that never rings.

const MAX_LENGTH = 128
const SHAPE = /^([A-Za-z0-9]+)\/[A-Za-z0-9_/@.;:+#*-]+$/

/** Why `iface` cannot be used as an agent's interface, or undefined when it can. */
export function interfaceProblem (iface: string, technologies: readonly string[]): string | undefined {
  if (iface.length === 0) return 'interface is empty'
  if (iface.length > MAX_LENGTH) return `interface is longer than ${MAX_LENGTH} characters`
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(iface)) return 'interface contains a line break or a control character'
  const m = SHAPE.exec(iface)
  if (m === null) return `interface "${iface}" is not TECHNOLOGY/resource (letters, digits and _/@.;:+#*- only), e.g. PJSIP/1001`
  const tech = m[1] ?? ''
  // Asterisk matches channel technologies without regard to case.
  if (!technologies.some(t => t.toLowerCase() === tech.toLowerCase())) {
    return `interface technology "${tech}" is not allowed (allowed: ${technologies.join(', ')})`
  }
  return undefined
}
