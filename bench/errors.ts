import { Schema } from "effect"

/** A benchmark step could not produce a measurement (a child did not start, a request failed). */
export class BenchFailed extends Schema.TaggedError<BenchFailed>()("BenchFailed", {
  step: Schema.String,
  message: Schema.String
}) {}
