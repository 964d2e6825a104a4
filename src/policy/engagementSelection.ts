import { Either } from "effect"
import { EngagementRejected, InvalidInput } from "../errors.js"
import type { EngagementGrant } from "../identity/Caller.js"
import type { Engagement } from "./Engagement.js"

/**
 * Which engagement a call acts in: the one it names in its `engagement`
 * field, or, when it names none, the caller's only one. A caller bound to
 * several must name one; a caller bound to none acts under the server's
 * policy alone and may not name one; the local operator (`any`) may name
 * any engagement, or none.
 */
export const selectEngagement = (
  engagements: ReadonlyArray<Engagement>,
  grant: EngagementGrant | undefined,
  caller: string,
  requested: string | undefined
): Either.Either<Engagement | undefined, EngagementRejected | InvalidInput> => {
  const listed = grant === "any" ? undefined : grant ?? []
  const find = (name: string) => {
    const found = engagements.find((e) => e.name === name)
    return found === undefined
      ? Either.left(
        new EngagementRejected({
          engagement: name,
          rule: "unknown_engagement",
          message: `there is no engagement ${name}; the engagements are ${engagements.map((e) => e.name).join(", ") || "none"}`
        })
      )
      : Either.right(found)
  }
  if (requested !== undefined) {
    if (listed === undefined || listed.includes(requested)) return find(requested)
    return Either.left(
      new EngagementRejected({
        engagement: requested,
        rule: "engagement_not_allowed",
        message: listed.length === 0
          ? `${caller} acts in no engagement, so it may not name one; leave engagement out`
          : `${caller} may act only in ${listed.join(", ")}, not in ${requested}`
      })
    )
  }
  if (listed === undefined || listed.length === 0) return Either.right(undefined)
  if (listed.length === 1) return find(listed[0]!)
  const issue = `engagement: ${caller} acts in ${listed.join(", ")}; name one of them in the engagement field`
  return Either.left(new InvalidInput({ message: `invalid tool input: ${issue}`, issues: [issue] }))
}
