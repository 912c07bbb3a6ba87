// Sample requests for the routes in the app's route table: a concrete URL for each
// pattern and a body that passes validation. Table-driven tests (auth, fuzzing) use
// these, and fail for a new POST route until it gets a sample here.
import { readdirSync } from 'node:fs'
import type { RoleName } from '../../src/config/schema.ts'
import { TOKENS } from './config.ts'

/** Bodies that pass validation, keyed by "METHOD /pattern". */
export const VALID_BODY: Record<string, unknown> = {
  'POST /v1/calls/:callId/inquiry': { topic: 'activation', customer: { name: 'Budi', salutation: 'Bapak' } },
  'POST /v1/calls/:callId/consent': { accepted: true },
  'POST /v1/calls/:callId/direct-transfer': { target: 3 },
  'POST /v1/calls/:callId/wrapup': { code: 'SELESAI' },
  'POST /v1/agents/:agentId/acw/complete': {},
  'POST /v1/agents/:agentId/acw': { extendSeconds: 10 },
  'POST /v1/agents/:agentId/login': {},
  'POST /v1/agents/:agentId/logout': {},
  'POST /v1/agents/:agentId/pause': { reason: 'ISTIRAHAT' },
  'POST /v1/agents/:agentId/ready': {},
  'POST /v1/cti/events': { type: 'call.offered', callId: 'sample-cti-1', data: { callerIdNum: '0811', customerChannel: 'PJSIP/trunk-1' } },
  'POST /v1/apkt/records/:id/retry': {},
  'PUT /v1/admin/agents/:agentId': { name: 'Siti', queues: ['pln123'], unit: 'DISTRIBUSI JAKARTA RAYA', unitPelayanan: 'UP3 TANJUNG PRIOK', interface: 'PJSIP/2001' },
  'POST /v1/admin/agents/:agentId/tokens': { revokeOthers: false, name: 'fuzz' }
}

const uiFile = readdirSync('src/ui').find(f => f.endsWith('.css') || f.endsWith('.js')) ?? 'app.css'

/** A concrete URL for a route pattern. */
export function concreteUrl (pattern: string, v: { callId: string, agentId?: string, recordId?: string }): string {
  return pattern
    .replace(':callId', v.callId)
    .replace(':agentId', v.agentId ?? '1001')
    .replace(':index', '3')
    .replace(':id', v.recordId ?? 'no-such-record')
    .replace(/\/\*$/, pattern.startsWith('/docs/') ? '/index.css' : `/${uiFile}`)
}

/** A token for each role; the agent one belongs to agent 1001. */
export const ROLE_TOKEN: Record<RoleName, string> = { pbx: TOKENS.pbx, supervisor: TOKENS.supervisor, agent: TOKENS.agent1001, admin: TOKENS.admin }
