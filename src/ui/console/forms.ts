/**
 * What the console's forms send: plain functions, so the browser and the
 * unit tests agree on them.
 */

export interface ScheduleFields {
  readonly name: string
  readonly tool: string
  readonly target: string
  readonly args: string
  readonly engagement: string
  readonly timing: "interval" | "cron"
  readonly interval: string
  readonly cron: string
}

/** Argument tokens as typed: split on whitespace (never given to a shell; each token is checked by the tool's flag policy). */
export const argTokens = (text: string): ReadonlyArray<string> => text.split(/\s+/).filter((token) => token !== "")

/** The body of POST /schedules: the fields left empty are left out (the server's defaults apply), the timing is one of the two. */
export const scheduleBody = (fields: ScheduleFields): Readonly<Record<string, unknown>> => {
  const body: Record<string, unknown> = { name: fields.name.trim(), tool: fields.tool.trim(), target: fields.target.trim() }
  const args = argTokens(fields.args)
  if (args.length > 0) body["args"] = args
  if (fields.engagement.trim() !== "") body["engagement"] = fields.engagement.trim()
  if (fields.timing === "cron") body["cron"] = fields.cron.trim()
  else body["interval"] = Number(fields.interval)
  return body
}

/** How often a schedule runs, in words. */
export const timingText = (schedule: { readonly cron: string | null; readonly interval: number | null }): string =>
  schedule.cron !== null
    ? `cron ${schedule.cron} (UTC)`
    : schedule.interval === null
    ? "—"
    : schedule.interval % 3600 === 0
    ? `every ${schedule.interval / 3600} h`
    : schedule.interval % 60 === 0
    ? `every ${schedule.interval / 60} min`
    : `every ${schedule.interval} s`
