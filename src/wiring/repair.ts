// Repair from Asterisk, the two times the service's picture may be stale: after every
// AMI login (events were missed while disconnected) and once the store takes writes
// again (events were not recorded). Both resync the calls and re-apply ACW's pauses.
import type { Logger } from 'pino'
import type { AmiClient } from '../ami/index.ts'
import type { AcwService } from '../acw/service.ts'
import type { TransferService } from '../transfer/service.ts'
import type { CallsWiring } from './calls.ts'
import type { StoreWiring } from './store.ts'

export function wireRepair (logger: Logger, store: StoreWiring, ami: AmiClient, { tracker, resync }: CallsWiring, acw: AcwService, transfers: TransferService, isStopped: () => boolean): void {
  store.whenWritableAgain(async () => {
    if (isStopped()) return
    await resync()
    await acw.reapply()
  })
  ami.on('connected', () => {
    // A login just before stop() must not touch the store after it closed.
    void resync()
      .then(async () => { if (!isStopped()) { transfers.checkUnsettled(); await acw.reapply() } })
      .catch((err: unknown) => { if (!isStopped()) logger.error({ err }, 'ACW re-apply after AMI login failed') })
  })
}
