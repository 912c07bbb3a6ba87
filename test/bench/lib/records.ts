// APKT records per call, for the soak's verdict: distinct records (by Idempotency-Key,
// which is the record id, so a retried post of the same record counts once) per call
// the driver placed. Every call must have exactly one: a lost record and a second
// record for the same call both fail.

export interface RecordTally {
  /** calls with no record, including calls the driver never learnt the id of */
  none: number
  one: number
  moreThanOne: number
  /** calls that got records but were not placed by the driver */
  unknownCalls: number
  /** distinct records in all */
  records: number
  exactlyOne: boolean
}

/** `placed`: how many calls the driver placed; `callIds`: the ids it learnt of them. */
export function tallyRecords (placed: number, callIds: readonly string[], recordsByCall: ReadonlyMap<string, ReadonlySet<string>>): RecordTally {
  const perCall = callIds.map(id => recordsByCall.get(id)?.size ?? 0)
  const none = perCall.filter(n => n === 0).length + (placed - callIds.length)
  const one = perCall.filter(n => n === 1).length
  const moreThanOne = perCall.filter(n => n > 1).length
  const ours = new Set(callIds)
  const unknownCalls = [...recordsByCall.keys()].filter(id => !ours.has(id)).length
  const records = [...recordsByCall.values()].reduce((a, r) => a + r.size, 0)
  return { none, one, moreThanOne, unknownCalls, records, exactlyOne: one === placed && moreThanOne === 0 && unknownCalls === 0 }
}
