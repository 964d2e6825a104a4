import { Either } from "effect"
import {
  type Address,
  contains,
  familyBits,
  loopbackV4,
  loopbackV6,
  type Network,
  network,
  parseAddress,
  parseNetwork,
  v4net,
  v6net
} from "../policy/ip.js"

/**
 * Where webhooks may go: only to hosts and networks the operator listed in
 * `watch.webhook_egress`, a list of its own (the scan policy says what may be
 * scanned, not what may be posted to). An address literal must lie in a
 * listed network; a host name must be listed exactly, and every address it
 * resolves to must not be loopback, link-local (cloud metadata at
 * 169.254.169.254) or unspecified unless that address is listed as well.
 */

/** Addresses a listed name must not resolve to unless listed themselves. */
const SPECIAL: ReadonlyArray<Network> = [
  loopbackV4,
  loopbackV6,
  v4net(0, 0, 0, 0, 8),
  v4net(169, 254, 0, 0, 16),
  v6net(0n, 128),
  v6net(0xfe80n << 112n, 10)
]

const asNetwork = (address: Address) => network(address.family, address.value, familyBits(address.family))

/** The listed entries that are addresses or networks. */
const listedNetworks = (egress: ReadonlyArray<string>): ReadonlyArray<Network> =>
  egress.flatMap((entry) => {
    const net = parseNetwork(entry)
    if (net !== undefined) return [net]
    const address = parseAddress(entry)
    return address === undefined ? [] : [asNetwork(address)]
  })

const bare = (host: string) => (host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host)

export type Destination =
  | { readonly _tag: "address"; readonly url: URL }
  | { readonly _tag: "name"; readonly url: URL; readonly host: string }

/** The URL checked before any lookup: its scheme, and an address in a listed network or a listed name. */
export const checkUrl = (text: string, egress: ReadonlyArray<string>): Either.Either<Destination, string> => {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return Either.left("the webhook URL is not a valid URL")
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return Either.left(`scheme ${url.protocol} is not http or https`)
  if (url.username !== "" || url.password !== "") return Either.left("credentials in the webhook URL are not allowed")
  const host = bare(url.hostname).toLowerCase()
  const address = parseAddress(host)
  if (address !== undefined) {
    return listedNetworks(egress).some((net) => contains(net, asNetwork(address)))
      ? Either.right({ _tag: "address", url })
      : Either.left(`${host} is not in watch.webhook_egress`)
  }
  return egress.some((entry) => entry.toLowerCase() === host)
    ? Either.right({ _tag: "name", url, host })
    : Either.left(`host ${host} is not in watch.webhook_egress`)
}

/** The addresses a listed name resolved to, checked: special ones only when listed. */
export const checkResolved = (
  host: string,
  addresses: ReadonlyArray<string>,
  egress: ReadonlyArray<string>
): Either.Either<void, string> => {
  const listed = listedNetworks(egress)
  for (const text of addresses) {
    const address = parseAddress(text)
    if (address === undefined) return Either.left(`${host} resolved to ${text}, which is not an address`)
    const net = asNetwork(address)
    if (SPECIAL.some((s) => contains(s, net)) && !listed.some((l) => contains(l, net))) {
      return Either.left(`${host} resolved to ${text} (loopback, link-local or unspecified), which watch.webhook_egress does not list`)
    }
  }
  return addresses.length === 0 ? Either.left(`${host} did not resolve`) : Either.void
}
