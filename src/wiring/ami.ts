// The PBX feature: the AMI client and the live picture read from it (channels and queue
// members as domain snapshots; src/ami/ is the only place that knows AMI field names).
import type { Logger } from 'pino'
import { AmiClient } from '../ami/index.ts'
import { pbxSnapshots, type PbxSnapshots } from '../ami/snapshots.ts'
import type { Config } from '../config/schema.ts'

export interface AmiWiring { ami: AmiClient, livePicture: PbxSnapshots }

export function wireAmi (config: Config, logger: Logger): AmiWiring {
  const ami = new AmiClient({ ...config.ami, logger: logger.child({ module: 'ami' }) })
  return { ami, livePicture: pbxSnapshots(ami) }
}
