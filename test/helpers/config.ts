// A valid Config for tests, built through the real validator.
import os from 'node:os'
import path from 'node:path'
import { mkdtempSync } from 'node:fs'
import { parseConfig } from '../../src/config/load.ts'
import type { Config } from '../../src/config/schema.ts'

export const TOKENS = {
  pbx: 'test-pbx-token-0123456789',
  supervisor: 'test-supervisor-token-0123456789',
  agent1001: 'test-agent-1001-token-0123456789',
  agent1002: 'test-agent-1002-token-0123456789',
  admin: 'test-admin-token-0123456789'
} as const

export function baseRawConfig (amiPort = 5038): Record<string, any> {
  return {
    http: { host: '127.0.0.1', port: 0 },
    log: { level: 'silent' },
    ami: { host: '127.0.0.1', port: amiPort, username: 'cti', secret: 'change-me-cti-secret', actionTimeoutMs: 3000, connectTimeoutMs: 3000, reconnect: { initialMs: 100, maxMs: 1000 } },
    store: { path: path.join(mkdtempSync(path.join(os.tmpdir(), 'pln123-store-')), 'cti.db') },
    policy: { dir: 'config/policy' },
    directory: [{ index: 3, name: 'Contact Center ICONNET', context: 'direct-transfer', exten: '3' }],
    // Short ACW so sandbox tests that place call after call are not held up by it.
    acw: { seconds: 1, mode: 'fixed' },
    agents: [
      { id: '1001', interface: 'Local/1001@agents/n', memberName: 'Agent 1001', queues: ['pln123'], unit: 'DISTRIBUSI JAKARTA RAYA', unitPelayanan: 'UP3 TANJUNG PRIOK' },
      { id: '1002', interface: 'Local/1002@agents/n', memberName: 'Agent 1002', queues: ['pln123'], unit: 'DISTRIBUSI JAKARTA RAYA', unitPelayanan: 'UP3 TANJUNG PRIOK' }
    ],
    apkt: { url: 'http://127.0.0.1:9/apkt/records', token: 'test-apkt-token', timeoutMs: 2000 },
    auth: {
      tokens: [
        { token: TOKENS.pbx, role: 'pbx', name: 'pbx' },
        { token: TOKENS.supervisor, role: 'supervisor', name: 'supervisor' },
        { token: TOKENS.agent1001, role: 'agent', agent: '1001', name: 'agent-1001' },
        { token: TOKENS.agent1002, role: 'agent', agent: '1002', name: 'agent-1002' },
        { token: TOKENS.admin, role: 'admin', name: 'admin' }
      ]
    }
  }
}

/** `env`: environment overrides, e.g. { CTI_STORE_KIND: 'postgres', CTI_STORE_URL: db.url } (the URL may not be in the raw config). */
export function testConfig (amiPort = 5038, edit: (raw: Record<string, any>) => void = () => {}, env: NodeJS.ProcessEnv = {}): Config {
  const raw = baseRawConfig(amiPort)
  edit(raw)
  return parseConfig(raw, env)
}
