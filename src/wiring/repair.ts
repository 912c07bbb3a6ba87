// Repair from Asterisk, the two times the service's picture may be stale: after every
// AMI login (events were missed while disconnected) and once the store takes writes
// again (events were not recorded). Both resync the calls and re-apply ACW's pauses.
import type { Logger } from 'pino'
import type { AmiClient } from '../ami/index.ts'
import type { AcwService } from '../acw/service.ts'
import type { ShiftService } from '../agents/shift.ts'
import type { TransferService } from '../transfer/service.ts'
import type { CallsWiring } from './calls.ts'
import type { StoreWiring } from './store.ts'
import { Backoff } from '../backoff.ts'

/**
 * A resync whose lists could not be read (Asterisk just started and not answering
 * CoreShowChannels yet, an action timing out) is tried again while the session lasts:
 * without it the picture stayed stale until the next reconnect, which may be hours away.
 */
async function resyncUntilDone (resync: () => Promise<boolean>, ami: AmiClient, isStopped: () => boolean): Promise<void> {
  const backoff = new Backoff({ initialMs: 500, maxMs: 10_000 })
  while (!isStopped() && ami.ready) {
    if (await resync()) return
    await new Promise(resolve => setTimeout(resolve, backoff.next()))
  }
}

/** `shift`: logged-in agents are added back first (an Asterisk restart lost them), so ACW can pause them. */
export function wireRepair (logger: Logger, store: StoreWiring, ami: AmiClient, { resync }: CallsWiring, acw: AcwService, transfers: TransferService, isStopped: () => boolean, shift?: ShiftService): void {
  store.whenWritableAgain(async () => {
    if (isStopped()) return
    await resyncUntilDone(resync, ami, isStopped)
    await acw.reapply()
  })
  ami.on('connected', () => {
    // A login just before stop() must not touch the store after it closed.
    void resyncUntilDone(resync, ami, isStopped)
      .then(async () => { if (!isStopped()) { transfers.checkUnsettled(); await shift?.reapply(); await acw.reapply() } })
      .catch((err: unknown) => { if (!isStopped()) logger.error({ err }, 'ACW re-apply after AMI login failed') })
  })
}
