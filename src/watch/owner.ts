import { Either } from "effect"
import type { AppConfig } from "../config/schema.js"
import { type Caller, OPERATOR_SCOPES } from "../identity/Caller.js"

/**
 * Who a scheduled run acts as: the key that created the schedule, looked up
 * in the configuration at every run, so a key removed or narrowed since is
 * never acted as with its old rights. `operator` is the local operator (a
 * schedule from the configuration, or one created without keys from this
 * host), who has every scope but approve.
 */

export const OPERATOR = "operator"

/** The owner a new schedule records for its creator. */
export const ownerOf = (
  caller: Caller
): string => (caller.id.startsWith("anonymous@") || caller.transport === "stdio" ? OPERATOR : caller.id)

const keysRequired = (config: AppConfig) => config.auth.require_auth || config.auth.api_keys.length > 0

/** The caller a run of a schedule owned by `owner` acts as, or why it cannot run. */
export const ownerCaller = (owner: string, source: "api" | "config", config: AppConfig): Either.Either<Caller, string> => {
  if (owner === OPERATOR) {
    if (source === "api" && keysRequired(config)) {
      return Either.left(
        "the schedule was created without an API key, and keys are now required: remove it and create it again with a key"
      )
    }
    return Either.right({ id: OPERATOR, transport: "http", scopes: new Set(OPERATOR_SCOPES), engagements: "any" })
  }
  const key = config.auth.api_keys.find((k) => k.id === owner)
  if (key === undefined) return Either.left(`its owner, API key ${owner}, is no longer configured (auth.api_keys)`)
  return Either.right({
    id: key.id,
    transport: "http",
    scopes: new Set(key.scopes),
    ...(key.allowed_targets === undefined ? {} : { allowedTargets: key.allowed_targets }),
    ...(key.engagements === undefined ? {} : { engagements: key.engagements })
  })
}
