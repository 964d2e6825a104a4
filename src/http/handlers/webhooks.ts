import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { ScheduleStore } from "../../storage/ScheduleStore.js"
import { Webhooks as WebhookService } from "../../watch/Webhooks.js"
import { apiOf } from "../api/group.js"
import { DEAD_LETTER_PAGE, Webhooks } from "../api/Webhooks.js"
import { json } from "./json.js"

export const WebhooksLive = HttpApiBuilder.group(apiOf(Webhooks), "webhooks", (handlers) =>
  Effect.gen(function*() {
    const store = yield* ScheduleStore
    const webhooks = yield* WebhookService
    return handlers
      .handle("deadLetters", ({ urlParams }) =>
        Effect.map(store.deadLetters(urlParams.limit ?? DEAD_LETTER_PAGE, urlParams.cursor), (page) => {
          const full = page.length === (urlParams.limit ?? DEAD_LETTER_PAGE)
          return json({ dead_letters: page, next_cursor: full ? page[page.length - 1]!.id : null })
        }))
      .handle("retry", ({ path }) =>
        Effect.map(webhooks.redeliver(path.id), (r) =>
          json(r)))
  }))
