import { Schema } from "effect"

/**
 * What a caller may do: execute runs tools, intrusive allows intrusive operations, admin manages tools and reads /config and
 * /events, approve decides other callers' pending approvals, schedule creates and removes standing rescans that run as the key.
 */
export const CallerScope = Schema.Literal("execute", "intrusive", "admin", "approve", "schedule")
export type CallerScope = typeof CallerScope.Type

export const ALL_SCOPES: ReadonlyArray<CallerScope> = CallerScope.literals

/**
 * The local operator's scopes (stdio, or a loopback client when no key is
 * configured): everything but `approve`. An approval must come from a
 * person's own key, and the local caller may well be the model asking.
 */
export const OPERATOR_SCOPES: ReadonlyArray<CallerScope> = ALL_SCOPES.filter((scope) => scope !== "approve")

/**
 * The engagements a caller may act in: the listed ones (a key's `engagements`), or `any` for the local operator, who may
 * name any engagement or none. Absent: none, so the caller acts under the server's policy alone.
 */
export type EngagementGrant = ReadonlyArray<string> | "any"

/** Who is calling: used for rate limiting, scope checks and the audit log. */
export interface Caller {
  readonly id: string
  readonly transport: "stdio" | "http" | "mcp-http"
  readonly address?: string
  readonly scopes: ReadonlySet<CallerScope>
  /** Per-key allow-list further restricting the server's target policy. */
  readonly allowedTargets?: ReadonlyArray<string>
  readonly engagements?: EngagementGrant
}

/** Whether the caller may act in (and read) the engagement `name`. */
export const inEngagement = (caller: Caller, name: string): boolean =>
  caller.engagements === "any" || (caller.engagements?.includes(name) ?? false)
