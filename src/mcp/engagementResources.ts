import { Clock, Effect, Option } from "effect"
import type { ConfigService } from "../config/ConfigService.js"
import type { AppConfig } from "../config/schema.js"
import { type Caller, inEngagement } from "../identity/Caller.js"
import { engagementHash } from "../policy/Engagement.js"
import { checkWhen, describeWhen } from "../policy/engagementWindows.js"
import type { ResourceProvider } from "./resources.js"
import type { ListContext } from "./toolList.js"

/**
 * `engagement://{name}`: the scope a caller acts in, readable by the callers
 * in it (a scope document is not for everyone), so a model can plan within
 * it instead of learning it from refusals.
 */

const URI = /^engagement:\/\/([A-Za-z0-9][A-Za-z0-9._-]{0,63})$/

const reachable = (config: AppConfig, caller: Caller) => config.engagements.filter((e) => inEngagement(caller, e.name))

/**
 * What the tool list offers the caller: the engagements it may name (a
 * bound caller with only one acts in it by default, so it needs none), and
 * whether any of them may hold a call for approval.
 */
export const engagementChoices = (config: AppConfig, caller: Caller): Pick<ListContext, "engagements" | "approvals"> => {
  const all = reachable(config, caller)
  const choose = caller.engagements === "any" ? all.length > 0 : all.length > 1
  return { engagements: choose ? all.map((e) => e.name) : [], approvals: all.some((e) => e.approval !== "none") }
}

export const engagementResources = (config: ConfigService["Type"]): ResourceProvider => ({
  templates: [{
    uriTemplate: "engagement://{name}",
    name: "engagement",
    title: "Engagement scope",
    description: "An engagement you act in: targets, exclusions, time windows, tiers, rates and which calls need approval",
    mimeType: "application/json"
  }],
  list: (env) =>
    Effect.map(config.get, (c) => ({
      resources: reachable(c, env.context.caller).map((e) => ({
        uri: `engagement://${e.name}`,
        name: `engagement-${e.name}`,
        title: `Engagement ${e.name}`,
        description: e.description ?? `Scope of engagement ${e.name}`,
        mimeType: "application/json"
      }))
    })),
  read: (uri, env) =>
    Effect.gen(function*() {
      const name = URI.exec(uri)?.[1]
      const engagement = reachable(yield* config.get, env.context.caller).find((e) => e.name === name)
      if (engagement === undefined) return Option.none()
      const now = yield* Clock.currentTimeMillis
      const body = {
        ...engagement,
        hash: engagementHash(engagement),
        allowed_now: checkWhen(engagement, now)._tag === "Right",
        when: describeWhen(engagement),
        approval_note: engagement.approval === "none"
          ? "No call needs approval."
          : `${
            engagement.approval === "all" ? "Every call" : "Every intrusive call"
          } waits for a second person's approval: the call answers ApprovalRequired with an approval_id; once a human approved it, call again with the same arguments plus approval_id.`
      }
      return Option.some({ contents: [{ uri, mimeType: "application/json", text: JSON.stringify(body, null, 2) }] })
    })
})
