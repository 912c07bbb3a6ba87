// The reports' shapes (CONTRACT.md section 8), shared by the store side that computes
// them (src/store/..., both engines), the HTTP side that serves them as JSON and CSV
// (src/http/report-routes.ts) and the Laporan page (src/ui/reports.*).
//
// Days and hours are Asia/Jakarta's (UTC+7 all year: Indonesia keeps no daylight saving,
// so a bucket is a fixed 3,600 or 86,400 seconds and its start a fixed offset from UTC).

export type ReportInterval = 'hour' | 'day'

/** A validated report request: instants in UTC, `to` exclusive (the day after the asked `to`, 00:00 Jakarta). */
export interface ReportRange {
  from: Date
  to: Date
}

export interface SummaryQuery extends ReportRange {
  interval: ReportInterval
  /** `reports.serviceLevelSeconds`: answered within this many seconds of joining the queue counts for the service level. */
  serviceLevelSeconds: number
}

/** One interval of the summary: every count is of what happened in that interval (a call by the time it joined the queue). */
export interface SummaryRow {
  /** The interval's start, ISO 8601 with Jakarta's offset: `2026-12-01T08:00:00+07:00`. */
  interval: string
  /** Callers who joined the queue. */
  offered: number
  answered: number
  /** Hung up while waiting in the queue. */
  abandoned: number
  /** Share (0..1) of the offered answered within serviceLevelSeconds; null when none was offered. */
  serviceLevel: number | null
  /** Mean wait of the answered, seconds; null when none was answered. */
  avgWaitSeconds: number | null
  /** Calls by topic (the policy's topic ids), topics with none left out. */
  byTopic: Record<string, number>
  transfers: { completed: number, failed: number, answeredAtTarget: number, abandonedAtTarget: number }
  acwSeconds: number
  /** Pause seconds by reason code. */
  pauseSeconds: Record<string, number>
  /** Final wrap-up codes, counted. */
  wrapups: Record<string, number>
  /** APKT records made in the interval, by their status now. */
  apkt: { delivered: number, dead: number, pending: number }
}

/** One agent over the whole range. */
export interface AgentReportRow {
  agentId: string
  calls: number
  talkSeconds: number
  acwSeconds: number
  pauseSeconds: Record<string, number>
  transfers: number
  wrapups: Record<string, number>
}

/** The store's side (both engines). */
export interface ReportQueries {
  summary: (query: SummaryQuery) => Promise<SummaryRow[]>
  agents: (range: ReportRange) => Promise<AgentReportRow[]>
}
