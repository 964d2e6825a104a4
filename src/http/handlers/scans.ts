import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { ConfigService } from "../../config/ConfigService.js"
import { compareScans } from "../../results/compare.js"
import { executionBody, viewerOf } from "../../storage/ScanRecord.js"
import { ScanStore } from "../../storage/ScanStore.js"
import { apiOf } from "../api/group.js"
import { Scans } from "../api/Scans.js"
import { CurrentCaller } from "../api/security.js"
import { json } from "./json.js"

/** Every read is as the key that asks: the store hides other keys' scans unless it is an admin. */
export const ScansLive = HttpApiBuilder.group(apiOf(Scans), "scans", (handlers) =>
  Effect.gen(function*() {
    const store = yield* ScanStore
    const config = yield* ConfigService
    const viewer = Effect.map(CurrentCaller, viewerOf)
    return handlers
      .handle("list", ({ urlParams }) => Effect.flatMap(viewer, (v) => store.list(urlParams, v)).pipe(Effect.map((page) => json(page))))
      .handle("get", ({ path }) =>
        Effect.flatMap(viewer, (v) =>
          Effect.all([store.get(path.id, v), store.raw(path.id, v)], { concurrency: 2 }).pipe(
            Effect.map(([record, raw]) =>
              json(executionBody(record, raw))
            )
          )))
      .handle("raw", ({ path }) => Effect.flatMap(viewer, (v) => store.raw(path.id, v)).pipe(Effect.map((raw) => json(raw))))
      .handle("diff", ({ path }) =>
        Effect.gen(function*() {
          const tokens = (yield* config.get).results.summary_tokens
          return json(yield* compareScans(store, path.id, path.other, yield* viewer, tokens))
        }))
      .handle("history", ({ urlParams: { target, ...page } }) =>
        Effect.flatMap(viewer, (v) =>
          store.history(target, v, page)).pipe(Effect.map((page) =>
            json(page)
          )))
  }))
