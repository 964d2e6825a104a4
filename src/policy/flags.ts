/**
 * The vocabulary of the argument policy: a flag a caller may pass and the
 * type of its value. Tool specs (`src/tools/`) are written in it; the policy
 * (`args.ts`) checks tokens against it.
 */

export type FlagValue =
  | { readonly _tag: "None" }
  | { readonly _tag: "Int"; readonly min: number; readonly max: number }
  | { readonly _tag: "Number"; readonly min: number; readonly max: number }
  | { readonly _tag: "Enum"; readonly values: ReadonlyArray<string> }
  /** nmap-style port list: `22,80,1000-2000,T:53,U:161`, at most `maxRanges` entries */
  | { readonly _tag: "Ports"; readonly maxRanges: number }
  /** nmap time spec: `500ms`, `5s`, `2m`, `1h` or a bare number of seconds, within bounds */
  | { readonly _tag: "Duration"; readonly minMs: number; readonly maxMs: number }
  /** NSE script expression: comma-separated names/categories from an allow-list */
  | { readonly _tag: "Scripts" }
  /** A value matching a fixed pattern (already restricted to a safe alphabet) */
  | { readonly _tag: "Pattern"; readonly pattern: RegExp; readonly description: string }

export interface FlagSpec {
  /** Canonical spelling, e.g. `-p` or `--top-ports`. */
  readonly name: string
  readonly aliases?: ReadonlyArray<string>
  readonly value: FlagValue
  readonly description: string
  /** Needs `security.allow_intrusive` (and the caller's `intrusive` scope); always audited. */
  readonly intrusive?: boolean
  /** Needs raw sockets (root or CAP_NET_RAW); replaced or refused when unprivileged. */
  readonly privileged?: boolean
  /** For `Enum`/`Scripts` values: the subset of values that are intrusive. */
  readonly intrusiveValues?: ReadonlyArray<string>
}

/** What the argument policy needs to know about a tool. */
export interface FlagTable {
  readonly name: string
  readonly flags: ReadonlyArray<FlagSpec>
  /** Every call of this tool is intrusive. */
  readonly intrusive: boolean
}
