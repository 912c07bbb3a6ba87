export { AmiClient, type AmiClientOptions, type AmiState, type AmiStatus, type AmiListResult } from './client.ts'
export { AmiError, type AmiErrorCode } from './errors.ts'
export { UnsafeFieldError, type Fields } from './guard.ts'
export type * from './events.ts'
