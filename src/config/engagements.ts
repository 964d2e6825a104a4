import { scopeProblems } from "../policy/engagementScope.js"
import type { AppConfig } from "./schema.js"

/**
 * Engagements beyond what their schema checks: entries that are no target,
 * names used twice or by keys that do not exist, approvals without the
 * store that keeps them. A configuration with any of these is rejected as a
 * whole, on a reload too, so a broken scope never replaces a working one.
 */
export const engagementProblems = (config: AppConfig): ReadonlyArray<string> => {
  const problems: Array<string> = []
  const names = new Set<string>()
  for (const e of config.engagements) {
    const at = `engagements.${e.name}`
    if (names.has(e.name)) problems.push(`engagements: duplicate name ${e.name}`)
    names.add(e.name)
    problems.push(...scopeProblems(e.targets).map((p) => `${at}.targets: ${p}`))
    problems.push(...scopeProblems(e.exclude).map((p) => `${at}.exclude: ${p}`))
    if (e.from !== undefined && e.until !== undefined && Date.parse(e.from) > Date.parse(e.until)) {
      problems.push(`${at}: from ${e.from} is after until ${e.until}`)
    }
    if (e.approval !== "none" && !config.storage.enabled) {
      problems.push(`${at}.approval: ${e.approval} needs storage.enabled: true, since pending approvals are stored`)
    }
  }
  for (const key of config.auth.api_keys) {
    for (const name of key.engagements ?? []) {
      if (!names.has(name)) problems.push(`auth.api_keys.${key.id}.engagements: there is no engagement ${name}`)
    }
  }
  const stdio = config.server.stdio_engagement
  if (stdio !== "" && !names.has(stdio)) problems.push(`server.stdio_engagement: there is no engagement ${stdio}`)
  return problems
}
