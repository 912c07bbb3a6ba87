// The repair after an AMI login (the resync's lists, then ACW re-applied) caught half way,
// for tests of what the service hears while it is on its way: the resync's channel list is
// held until release(), and the repair's last step is watched.
import type { Service } from '../../src/service.ts'
import { waitFor } from './ami.ts'
import type { Handler } from './fake-ami.ts'

export class HeldResync {
  private holding = true
  private readonly held: Array<() => void> = []

  /** `inner` answers every action, the held CoreShowChannels too once released. */
  constructor (private readonly inner: Handler) {}

  readonly handler: Handler = (action, sock, server) => {
    if (this.holding && (action.headers.action ?? '').toLowerCase() === 'coreshowchannels') {
      this.held.push(() => this.inner(action, sock, server))
      return true
    }
    return this.inner(action, sock, server)
  }

  /** Resolves once the resync has asked for its channel list (and it is held). */
  async asked (): Promise<void> {
    await waitFor('the resync\'s CoreShowChannels, held', () => this.held.length > 0 ? true : undefined)
  }

  /** Answers what was held, and every later list at once. */
  release (): void {
    this.holding = false
    for (const answer of this.held.splice(0)) answer()
  }
}

/** Whether the repair after the login is over: ACW re-applied, its last step (after the resync). */
export function watchRepair (svc: Service): () => boolean {
  let repaired = false
  const reapply = svc.acw.reapply.bind(svc.acw)
  svc.acw.reapply = async () => { await reapply(); repaired = true }
  return () => repaired
}
