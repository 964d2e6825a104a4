import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { ConfigService } from "../../config/ConfigService.js"
import { engagementHash } from "../../policy/Engagement.js"
import { Engagements } from "../api/Engagements.js"
import { apiOf } from "../api/group.js"
import { json } from "./json.js"

export const EngagementsLive = HttpApiBuilder.group(apiOf(Engagements), "engagements", (handlers) =>
  Effect.gen(function*() {
    const config = yield* ConfigService
    return handlers.handle("list", () =>
      Effect.map(config.get, (c) => json(c.engagements.map((engagement) => ({ ...engagement, hash: engagementHash(engagement) })))))
  }))
