import t from 'tap'
import { interfaceProblem } from '../../src/agents/interface.ts'

const TECH = ['PJSIP', 'SIP', 'IAX2', 'Local']

t.test('interfaces Asterisk names its members with are accepted', async t => {
  for (const ok of ['PJSIP/1001', 'pjsip/1001', 'Local/1001@agents/n', 'SIP/trunk-a', 'IAX2/peer:4569']) {
    t.equal(interfaceProblem(ok, TECH), undefined, ok)
  }
})

t.test('a line break, a control character, no technology or an unknown one is refused, naming what is wrong', async t => {
  t.match(interfaceProblem('PJSIP/1001\r\nAction: Originate', TECH), /line break or a control character/)
  t.match(interfaceProblem('PJSIP/10\x0701', TECH), /control character/)
  t.match(interfaceProblem('', TECH), /empty/)
  t.match(interfaceProblem('1001', TECH), /TECHNOLOGY\/resource/)
  t.match(interfaceProblem('PJSIP/10 01', TECH), /TECHNOLOGY\/resource/)
  t.match(interfaceProblem('PSJIP/1001', TECH), /technology "PSJIP" is not allowed \(allowed: PJSIP, SIP, IAX2, Local\)/)
  t.match(interfaceProblem(`PJSIP/${'1'.repeat(200)}`, TECH), /longer than 128/)
})
