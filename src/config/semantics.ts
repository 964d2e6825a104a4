import { validateAllowList } from "../policy/targets.js"
import { engagementProblems } from "./engagements.js"
import type { AppConfig } from "./schema.js"

/**
 * Rules that span several settings and so cannot live in the schema of one
 * field. A configuration with any of these problems is rejected as a whole.
 */
export const semanticProblems = (config: AppConfig): ReadonlyArray<string> => {
  const problems: Array<string> = validateAllowList(config.security.allowed_targets).map((p) => `security.allowed_targets: ${p}`)
  for (const key of config.auth.api_keys) {
    if (key.allowed_targets !== undefined) {
      problems.push(...validateAllowList(key.allowed_targets).map((p) => `auth.api_keys.${key.id}.allowed_targets: ${p}`))
    }
  }
  const ids = new Set<string>()
  for (const key of config.auth.api_keys) {
    if (ids.has(key.id)) problems.push(`auth.api_keys: duplicate id ${key.id}`)
    ids.add(key.id)
  }
  const hashes = new Set<string>()
  for (const key of config.auth.api_keys) {
    if (hashes.has(key.sha256)) problems.push(`auth.api_keys: ${key.id} reuses another key's hash`)
    hashes.add(key.sha256)
  }
  if (config.circuit_breaker.max_recovery_timeout < config.circuit_breaker.recovery_timeout) {
    problems.push("circuit_breaker.max_recovery_timeout must be at least circuit_breaker.recovery_timeout")
  }
  const names = new Set<string>()
  for (const tool of config.custom_tools) {
    if (names.has(tool.name)) problems.push(`custom_tools: duplicate name ${tool.name}`)
    names.add(tool.name)
  }
  problems.push(...engagementProblems(config))
  return problems
}
