import { Layer } from "effect"
import { Scheduler } from "./Scheduler.js"
import { Schedules } from "./Schedules.js"
import { Webhooks } from "./Webhooks.js"

/** Schedules, their webhooks and the scheduler that runs them, over the store, the executor and the configuration. */
export const WatchLive = Scheduler.layer.pipe(Layer.provideMerge(Layer.merge(Schedules.layer, Webhooks.layer)))
