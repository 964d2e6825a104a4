import { Context, Duration, Effect, Layer } from "effect"
import { promises as dns } from "node:dns"
import { TargetRejected } from "../errors.js"

/**
 * Name resolution for target pinning. Names are resolved once, by the server,
 * so the tool is handed an address that was checked, never a name that could
 * resolve differently a moment later.
 */
export interface ResolverService {
  /** Every address the name resolves to, in resolver order; fails when there is none. */
  readonly lookup: (name: string) => Effect.Effect<ReadonlyArray<string>, TargetRejected>
}

const unresolvable = (name: string, why: string) =>
  new TargetRejected({ target: name, rule: "unresolvable", message: `${name} could not be resolved: ${why}` })

export class Resolver extends Context.Tag("security-mcp/Resolver")<Resolver, ResolverService>() {
  /** The system resolver (getaddrinfo: /etc/hosts, then DNS), bounded by `timeout`. */
  static readonly layer = (timeout: Duration.DurationInput = Duration.seconds(5)): Layer.Layer<Resolver> =>
    Layer.succeed(Resolver, {
      lookup: (name) =>
        Effect.tryPromise({
          try: () => dns.lookup(name, { all: true, verbatim: true }),
          catch: (cause) => unresolvable(name, cause instanceof Error ? cause.message : String(cause))
        }).pipe(
          Effect.timeoutFail({
            duration: timeout,
            onTimeout: () =>
              new TargetRejected({
                target: name,
                rule: "resolution_timeout",
                message: `${name} did not resolve within ${Duration.format(timeout)}`
              })
          }),
          Effect.flatMap((entries) =>
            entries.length === 0 ? Effect.fail(unresolvable(name, "no addresses")) : Effect.succeed(entries.map((entry) => entry.address))
          )
        )
    })

  /** A fixed table, for tests and for pinning names without DNS. */
  static readonly layerStatic = (table: Readonly<Record<string, ReadonlyArray<string>>>): Layer.Layer<Resolver> =>
    Layer.succeed(Resolver, {
      lookup: (name) => {
        const addresses = Object.hasOwn(table, name) ? table[name] : undefined
        return addresses === undefined || addresses.length === 0
          ? Effect.fail(unresolvable(name, "not in the static table"))
          : Effect.succeed(addresses)
      }
    })
}
