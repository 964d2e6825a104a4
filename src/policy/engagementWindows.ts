import { Either } from "effect"
import { EngagementRejected } from "../errors.js"
import type { Engagement, TimeWindow, Weekday } from "./Engagement.js"

/**
 * When an engagement lets calls run: between its `from` and `until` dates,
 * and inside one of its time windows (any time when it has none). All in
 * UTC, judged at an instant in milliseconds the caller reads from `Clock`.
 */

const WEEKDAYS: ReadonlyArray<Weekday> = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
const DAY_MS = 86_400_000

const minutes = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5))

const opensOn = (window: TimeWindow, day: Weekday) => window.days === undefined || window.days.includes(day)

/**
 * Whether `window` is open at `now`. A window whose end is at or before its
 * start runs past midnight: it belongs to the day it opens on, so a
 * Friday 22:00–06:00 window is open early on Saturday and not early on Friday.
 */
export const windowOpen = (window: TimeWindow, now: number): boolean => {
  const date = new Date(now)
  const minute = date.getUTCHours() * 60 + date.getUTCMinutes()
  const today = WEEKDAYS[date.getUTCDay()]!
  const yesterday = WEEKDAYS[(date.getUTCDay() + 6) % 7]!
  const start = minutes(window.start)
  const end = minutes(window.end)
  if (start < end) return opensOn(window, today) && minute >= start && minute < end
  return (opensOn(window, today) && minute >= start) || (opensOn(window, yesterday) && minute < end)
}

/** The first instant of `from`; a bare date starts at its midnight. */
const startOf = (from: string): number => Date.parse(from.length === 10 ? `${from}T00:00:00Z` : from)

/** The first instant after `until`; a bare date lasts the whole day. */
const endOf = (until: string): number => (until.length === 10 ? Date.parse(`${until}T00:00:00Z`) + DAY_MS : Date.parse(until))

const describeWindow = (window: TimeWindow) =>
  `${window.days === undefined ? "daily" : window.days.join(",")} ${window.start}-${window.end}`

/** The engagement's time rules in words, for messages and approvers. */
export const describeWhen = (engagement: Engagement): string => {
  const dates = [
    engagement.from === undefined ? "" : `from ${engagement.from}`,
    engagement.until === undefined ? "" : `until ${engagement.until}`
  ].filter((part) => part !== "")
  const windows = engagement.windows.length === 0 ? "at any time" : `in ${engagement.windows.map(describeWindow).join("; ")} UTC`
  return [...dates, windows].join(", ")
}

const refuse = (engagement: Engagement, rule: string, now: number, why: string) =>
  Either.left(
    new EngagementRejected({
      engagement: engagement.name,
      rule,
      message: `engagement ${engagement.name} ${why} (now ${new Date(now).toISOString()}); it allows calls ${
        describeWhen(engagement)
      }. Call again when it allows them, or ask the operator to change the engagement`
    })
  )

/** Refuses a call at `now` outside the engagement's dates or windows. */
export const checkWhen = (engagement: Engagement, now: number): Either.Either<void, EngagementRejected> => {
  if (engagement.from !== undefined && now < startOf(engagement.from)) return refuse(engagement, "not_started", now, "has not started")
  if (engagement.until !== undefined && now >= endOf(engagement.until)) return refuse(engagement, "ended", now, "has ended")
  if (engagement.windows.length > 0 && !engagement.windows.some((window) => windowOpen(window, now))) {
    return refuse(engagement, "outside_window", now, "is outside its time windows")
  }
  return Either.void
}
