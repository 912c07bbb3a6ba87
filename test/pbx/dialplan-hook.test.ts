// The directory hook used from Asterisk's own CURL() in the dialplan, end to end.
import t from 'tap'
import { TOKENS } from '../helpers/config.ts'
import { waitFor } from '../helpers/ami.ts'
import { startStack } from './harness.ts'

t.test('CURL() in the dialplan fetches entry 3 and Goto() takes the caller to CC ICONNET', async t => {
  const s = await startStack(t)
  const address = s.svc.app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const plain = await s.svc.app.inject({ url: '/v1/dialplan/directory/3', headers: { authorization: `Bearer ${TOKENS.pbx}` } })
  t.equal(plain.statusCode, 200)
  t.equal(plain.body, 'direct-transfer,3,1')
  t.match(plain.headers['content-type'], /^text\/plain/)

  await s.admin.action('Setvar', { Variable: 'CTI_URL', Value: `http://127.0.0.1:${port}` })
  await s.admin.action('Setvar', { Variable: 'CTI_PBX_TOKEN', Value: TOKENS.pbx })
  await s.admin.action('Originate', { Channel: 'Local/s@caller', Context: 'cti-directory', Exten: '3', Priority: 1, CallerID: '"Hook" <0811999000>', Async: 'true' })
  const arrived = await waitFor('the caller at 3@direct-transfer', () => s.pbxEvents.find(e => e.event === 'UserEvent' && (e.fields.userevent === 'IconnetArrived' || e.fields.userevent === 'DirectoryFailed')))
  t.equal(arrived.fields.userevent, 'IconnetArrived', 'went through the hook to entry 3')
  t.equal(arrived.fields.calleridnum, '0811999000')

  await s.admin.action('Setvar', { Variable: 'CTI_PBX_TOKEN', Value: TOKENS.supervisor })
  await s.admin.action('Originate', { Channel: 'Local/s@caller', Context: 'cti-directory', Exten: '3', Priority: 1, CallerID: '"Hook" <0811999001>', Async: 'true' })
  const refused = await waitFor('the refused lookup', () => s.pbxEvents.find(e => e.event === 'UserEvent' && e.fields.calleridnum === '0811999001'))
  t.equal(refused.fields.userevent, 'DirectoryFailed', 'a wrong role gets nothing to Goto()')
})

t.test('directory hook: unknown entry 404, wrong role 403, no token 401', async t => {
  const s = await startStack(t)
  const get = async (url: string, token?: string) => await s.svc.app.inject({ url, headers: token !== undefined ? { authorization: `Bearer ${token}` } : {} })
  t.equal((await get('/v1/dialplan/directory/7', TOKENS.pbx)).statusCode, 404)
  t.equal((await get('/v1/dialplan/directory/3', TOKENS.agent1001)).statusCode, 403)
  t.equal((await get('/v1/dialplan/directory/3')).statusCode, 401)
  t.equal((await get('/v1/dialplan/directory/3x', TOKENS.pbx)).statusCode, 400)
})
