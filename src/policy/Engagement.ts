import { Schema } from "effect"
import { createHash } from "node:crypto"

/**
 * An engagement: a written scope as code. Which networks and hosts (and
 * which not), when, which tiers of tools, how fast, and which calls a second
 * person must approve. It only ever narrows the server's own policy: every
 * call in an engagement still passes the server's target, argument and
 * intrusive rules first (see `engagementScope.ts`, `engagementWindows.ts`,
 * `tiers.ts`, `rateCeiling.ts`).
 */

export const Weekday = Schema.Literal("mon", "tue", "wed", "thu", "fri", "sat", "sun")
export type Weekday = typeof Weekday.Type

const clock = (allowMidnightEnd: boolean) =>
  Schema.String.pipe(
    Schema.pattern(allowMidnightEnd ? /^(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00)$/ : /^(?:[01][0-9]|2[0-3]):[0-5][0-9]$/)
  )

export const TimeWindow = Schema.Struct({
  days: Schema.optional(
    Schema.Array(Weekday).annotations({ description: "Weekdays the window opens on (mon … sun); every day when left out" })
  ),
  start: clock(false).annotations({ description: "Opening time, HH:MM in UTC" }),
  end: clock(true).annotations({
    description: "Closing time, HH:MM in UTC (24:00 for midnight); at or before start, the window runs past midnight into the next day"
  })
})
export type TimeWindow = typeof TimeWindow.Type

/** An instant in UTC: a date (YYYY-MM-DD) or a date and time ending in Z. */
const UtcInstant = Schema.String.pipe(
  Schema.pattern(/^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2})?Z)?$/),
  Schema.filter((text) => !Number.isNaN(Date.parse(text)), { message: () => "not a real date" })
)

export const Tier = Schema.Literal("passive", "safe", "intrusive")
export type Tier = typeof Tier.Type

export const ApprovalPolicy = Schema.Literal("none", "intrusive", "all")
export type ApprovalPolicy = typeof ApprovalPolicy.Type

export const EngagementRate = Schema.Struct({
  calls_per_minute: Schema.optional(
    Schema.Number.pipe(Schema.between(0.01, 100_000)).annotations({
      description: "Tool calls per minute in this engagement, across every caller in it"
    })
  ),
  packets_per_second: Schema.optional(
    Schema.Number.pipe(Schema.between(0.1, 10_000)).annotations({
      description: "Ceiling of nmap --max-rate (and masscan --rate) the server adds to every scan in this engagement"
    })
  )
})
export type EngagementRate = typeof EngagementRate.Type

export const Engagement = Schema.Struct({
  name: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)).annotations({
    description: "The engagement's name, as calls, API keys and audit lines name it"
  }),
  description: Schema.optional(Schema.String.annotations({ description: "What the engagement is, for people (shown to approvers)" })),
  targets: Schema.NonEmptyArray(Schema.String).annotations({
    description:
      "In scope: CIDRs, addresses, host names and *.domain wildcards (a *.lab.internal matches a.lab.internal, never evil-lab.internal)"
  }),
  exclude: Schema.optionalWith(
    Schema.Array(Schema.String).annotations({ description: "Out of scope even when targets include it (an exclusion always wins)" }),
    { default: () => [] }
  ),
  windows: Schema.optionalWith(
    Schema.Array(TimeWindow).annotations({ description: "When calls may run (UTC); any time when empty" }),
    { default: () => [] }
  ),
  from: Schema.optional(UtcInstant.annotations({ description: "First day (YYYY-MM-DD) or instant (…T08:00Z) of the engagement, UTC" })),
  until: Schema.optional(
    UtcInstant.annotations({ description: "Last day (YYYY-MM-DD, inclusive) or instant (…T18:00Z) of the engagement, UTC" })
  ),
  tiers: Schema.optionalWith(
    Schema.Array(Tier).annotations({
      description: "Tool tiers allowed: passive (ping, dig, traceroute), safe (non-intrusive scans and probes), intrusive"
    }),
    { default: () => ["passive", "safe"] as const }
  ),
  max_rate: Schema.optional(EngagementRate.annotations({ description: "Rate limits of the engagement" })),
  approval: Schema.optionalWith(
    ApprovalPolicy.annotations({
      description: "Which calls a second person approves before they run: none, intrusive ones, or all"
    }),
    { default: () => "intrusive" as const }
  )
})
export type Engagement = typeof Engagement.Type

/** What results, stored scans and audit lines name: the engagement and the hash of its content at the time. */
export interface EngagementRef {
  readonly name: string
  readonly hash: string
}

const encode = Schema.encodeSync(Engagement)

/** JSON with object keys sorted at every level, so equal content always hashes alike. */
const canonical = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`
  }
  return JSON.stringify(value)
}

const hashes = new WeakMap<Engagement, string>()

/**
 * The SHA-256 (hex) of the engagement's content with its defaults filled in:
 * any change of scope, windows, tiers, rates or approval policy changes it,
 * while reordering keys or writing a default out does not.
 */
export const engagementHash = (engagement: Engagement): string => {
  const known = hashes.get(engagement)
  if (known !== undefined) return known
  const hash = createHash("sha256").update(canonical(encode(engagement)), "utf8").digest("hex")
  hashes.set(engagement, hash)
  return hash
}

export const engagementRef = (engagement: Engagement): EngagementRef => ({ name: engagement.name, hash: engagementHash(engagement) })
