import { Schema } from "effect"

/**
 * How one execution attempt ended, as the audit log, the events, the metrics
 * and the statistics name it: `rejected` means the tool never ran (policy, a
 * full queue, an open circuit), `cancelled` that the caller or a shutdown
 * stopped it.
 */
export const ExecutionOutcome = Schema.Literal("success", "failure", "timeout", "rejected", "cancelled")
export type ExecutionOutcome = typeof ExecutionOutcome.Type
