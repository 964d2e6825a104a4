import { Schema } from "effect"

/** The state of a tool's circuit breaker, as `/tools`, `/health` and the `breaker.transition` event name it. */
export const BreakerState = Schema.Literal("CLOSED", "OPEN", "HALF_OPEN")
export type BreakerState = typeof BreakerState.Type
