import type { Approval, ApprovalStatus } from "./Approval.js"

/**
 * The status as of `now`: a pending or approved approval past its expiry is
 * expired, whatever its row says. Its own file, with nothing but types
 * imported, so the console's browser bundle shares it with the server.
 */
export const statusAt = (approval: Pick<Approval, "status" | "expires_at">, now: number): ApprovalStatus =>
  (approval.status === "pending" || approval.status === "approved") && Date.parse(approval.expires_at) <= now
    ? "expired"
    : approval.status
