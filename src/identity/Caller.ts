import { Schema } from "effect"

/** What a caller may do: execute runs tools, intrusive allows intrusive operations, admin manages tools and reads /config and /events. */
export const CallerScope = Schema.Literal("execute", "intrusive", "admin")
export type CallerScope = typeof CallerScope.Type

export const ALL_SCOPES: ReadonlyArray<CallerScope> = CallerScope.literals

/** Who is calling: used for rate limiting, scope checks and the audit log. */
export interface Caller {
  readonly id: string
  readonly transport: "stdio" | "http" | "mcp-http"
  readonly address?: string
  readonly scopes: ReadonlySet<CallerScope>
  /** Per-key allow-list further restricting the server's target policy. */
  readonly allowedTargets?: ReadonlyArray<string>
}
