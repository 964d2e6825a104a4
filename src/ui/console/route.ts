/**
 * Where the console is, kept in the URL's fragment (`#/scans/01H…`): the
 * fragment never reaches the server or its logs, and it never holds the key.
 */
export type Route =
  | { readonly view: "dashboard" }
  | { readonly view: "scans"; readonly params: URLSearchParams }
  | { readonly view: "scan"; readonly id: string }
  | { readonly view: "diff"; readonly from: string; readonly to: string }
  | { readonly view: "history"; readonly target: string }
  | { readonly view: "approvals"; readonly id?: string }
  | { readonly view: "schedules"; readonly id?: string }
  | { readonly view: "audit"; readonly params: URLSearchParams }

export const parseRoute = (hash: string): Route => {
  const [path = "", search = ""] = hash.replace(/^#/, "").split("?")
  const parts = path.split("/").filter((part) => part !== "").map(decodeURIComponent)
  switch (parts[0]) {
    case "scans":
      return parts[1] === undefined ? { view: "scans", params: new URLSearchParams(search) } : { view: "scan", id: parts[1] }
    case "diff":
      return parts[1] !== undefined && parts[2] !== undefined ? { view: "diff", from: parts[1], to: parts[2] } : { view: "dashboard" }
    case "history":
      return parts[1] !== undefined ? { view: "history", target: parts.slice(1).join("/") } : { view: "dashboard" }
    case "approvals":
      return parts[1] === undefined ? { view: "approvals" } : { view: "approvals", id: parts[1] }
    case "schedules":
      return parts[1] === undefined ? { view: "schedules" } : { view: "schedules", id: parts[1] }
    case "audit":
      return { view: "audit", params: new URLSearchParams(search) }
    default:
      return { view: "dashboard" }
  }
}

export const href = {
  dashboard: "#/",
  scans: (params?: Readonly<Record<string, string>>) => `#/scans${params === undefined ? "" : `?${new URLSearchParams(params)}`}`,
  scan: (id: string) => `#/scans/${encodeURIComponent(id)}`,
  diff: (from: string, to: string) => `#/diff/${encodeURIComponent(from)}/${encodeURIComponent(to)}`,
  history: (target: string) => `#/history/${encodeURIComponent(target)}`,
  approvals: "#/approvals",
  /** One approval, e.g. to hand an approver: what it covers and, while it can be, its decision. */
  approval: (id: string) => `#/approvals/${encodeURIComponent(id)}`,
  schedules: "#/schedules",
  /** The schedules, with this one shown first and marked. */
  schedule: (id: string) => `#/schedules/${encodeURIComponent(id)}`,
  audit: (params?: Readonly<Record<string, string>>) => `#/audit${params === undefined ? "" : `?${new URLSearchParams(params)}`}`
}
