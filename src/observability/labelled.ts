import { Effect, type Metric, MetricLabel } from "effect"

/** Label sets remembered per metric; past this many, new ones are built each time (a label must never be unbounded anyway). */
const MAX_LABEL_SETS = 4096

/**
 * A metric updated with labels, at the cost of a map lookup. `Metric.tagged`
 * builds a new metric, and each update of it a new label array, a new key
 * and its hash to find the series in the registry; here each set of label
 * values keeps one label array, which the metric's own cache maps to its
 * series after the first update. The series are the ones `Metric.tagged`
 * with the same labels, in the same order, updates.
 */
export const labelled = <In>(metric: Metric.Metric<any, In, unknown>, keys: ReadonlyArray<string>) => {
  const sets = new Map<string, ReadonlyArray<MetricLabel.MetricLabel>>()
  const labelsOf = (values: ReadonlyArray<string>): ReadonlyArray<MetricLabel.MetricLabel> => {
    const id = values.join("\u0000")
    const known = sets.get(id)
    if (known !== undefined) return known
    const labels = keys.map((key, i) => MetricLabel.make(key, values[i] ?? ""))
    if (sets.size < MAX_LABEL_SETS) sets.set(id, labels)
    return labels
  }
  /** Updates the series (a counter's increment, a histogram's observation), without an effect. */
  const updateNow = (values: ReadonlyArray<string>, input: In): void => metric.unsafeUpdate(input, labelsOf(values))
  return {
    /** Updates the series (a counter's increment, a histogram's observation). */
    update: (values: ReadonlyArray<string>, input: In): Effect.Effect<void> => Effect.sync(() => updateNow(values, input)),
    updateNow,
    /** Adds to the series (a gauge's increment). */
    modify: (values: ReadonlyArray<string>, input: In): Effect.Effect<void> =>
      Effect.sync(() => metric.unsafeModify(input, labelsOf(values)))
  }
}
