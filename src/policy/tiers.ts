import { Either } from "effect"
import { EngagementRejected } from "../errors.js"
import type { Engagement, Tier } from "./Engagement.js"

/**
 * The tier of a call, which an engagement allows or not: `passive` for the
 * tools that only ask (ping, dig, traceroute), `intrusive` for any call the
 * argument policy found intrusive (whatever the tool), `safe` for every other
 * scan or probe. Built-in names are reserved, so no custom tool can pass for
 * a passive one.
 */
export const PASSIVE_TOOLS: ReadonlySet<string> = new Set(["PingTool", "DigTool", "TracerouteTool"])

export const callTier = (tool: string, intrusive: boolean): Tier => intrusive ? "intrusive" : PASSIVE_TOOLS.has(tool) ? "passive" : "safe"

/**
 * Refuses a call whose tier the engagement does not allow. Allowing the
 * intrusive tier never grants intrusive operations: the server's
 * allow_intrusive and the key's intrusive scope were checked before.
 */
export const checkTier = (engagement: Engagement, tool: string, intrusive: boolean): Either.Either<Tier, EngagementRejected> => {
  const tier = callTier(tool, intrusive)
  return engagement.tiers.includes(tier) ? Either.right(tier) : Either.left(
    new EngagementRejected({
      engagement: engagement.name,
      rule: "tier_not_allowed",
      message: `this ${tool} call is in the ${tier} tier, which engagement ${engagement.name} does not allow (it allows ${
        engagement.tiers.join(", ") || "no tier"
      })${tier === "intrusive" ? "; leave out the intrusive flags or scripts" : ""}`
    })
  )
}
