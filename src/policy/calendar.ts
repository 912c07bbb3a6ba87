// When a version starts. Indonesia's three zones (WIB, WITA, WIT) have had fixed
// offsets and no daylight saving since 1988, so midnight of a date is one instant,
// computed here without relying on the runtime's time-zone data.

export const TIMEZONE_OFFSET_MINUTES: Readonly<Record<string, number>> = {
  'Asia/Jakarta': 7 * 60,
  'Asia/Pontianak': 7 * 60,
  'Asia/Makassar': 8 * 60,
  'Asia/Jayapura': 9 * 60
}

export const TIMEZONES = Object.keys(TIMEZONE_OFFSET_MINUTES)

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/

/** Epoch milliseconds of midnight UTC of a YYYY-MM-DD date; undefined if it is no calendar date. */
function utcMidnight (date: string): number | undefined {
  const m = DATE.exec(date)
  if (m === null) return undefined
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const utc = new Date(0).setUTCFullYear(y, mo - 1, d)
  // setUTCFullYear rolls 2021-02-30 over into March; a date that does not come back is no date.
  const back = new Date(utc)
  return back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d ? utc : undefined
}

export const isCalendarDate = (date: string): boolean => utcMidnight(date) !== undefined

/** Epoch milliseconds of midnight of a YYYY-MM-DD date in the zone; undefined if it is no calendar date or zone. */
export function midnightIn (date: string, timezone: string): number | undefined {
  const utc = utcMidnight(date)
  const offset = TIMEZONE_OFFSET_MINUTES[timezone]
  return utc === undefined || offset === undefined ? undefined : utc - offset * 60_000
}
