// The transfer button: the TransferService with its PBX port (BlindTransfer through the
// AMI, and the session lost that makes an outcome unknown) and ACW's hold of the agent
// while a transfer is under way. Its outcome effect is the press's audit entry
// (TransferService.recordPressOutcome).
import type { Logger } from 'pino'
import type { Config } from '../config/schema.ts'
import type { Failpoint } from '../failpoints.ts'
import { AmiError } from '../ami/index.ts'
import type { AmiWiring } from './ami.ts'
import type { CallsWiring } from './calls.ts'
import type { StoreWiring } from './store.ts'
import type { AcwService } from '../acw/service.ts'
import { TransferService } from '../transfer/service.ts'

export function wireTransfer (config: Config, logger: Logger, { durability }: StoreWiring, { ami, livePicture }: AmiWiring, { tracker }: CallsWiring, acw: AcwService, failpoint?: Failpoint): TransferService {
  return new TransferService(tracker, {
    async blindTransfer (channel, context, exten) {
      failpoint?.('transfer:sending') // crash tests: "transferring" recorded, nothing sent
      await ami.action('BlindTransfer', { Channel: channel, Context: context, Exten: exten })
      failpoint?.('transfer:sent') // crash tests: Asterisk has it, the outcome is not recorded
    },
    onConnectionLost (cb) {
      const lost = (reason: string): void => { cb(new AmiError('AMI_CONNECTION_LOST', 'BlindTransfer', `AMI connection lost after Asterisk accepted BlindTransfer, before it confirmed it (${reason}); its outcome is unknown`)) }
      ami.on('disconnected', lost)
      return () => { ami.off('disconnected', lost) }
    },
    channels: livePicture.channels
  }, config.directory, { confirmTimeoutMs: config.ami.actionTimeoutMs, store: durability }, logger.child({ module: 'transfer' }), {
    hold: (agentId, callId, queue) => acw.holdForTransfer(agentId, callId, queue),
    failed: async (agentId) => { await acw.releaseHold(agentId) }
  })
}
