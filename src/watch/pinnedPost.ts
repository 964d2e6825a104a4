import { request as httpRequest } from "node:http"
import { request as httpsRequest } from "node:https"
import { isIPv6 } from "node:net"
import type { LookupFunction } from "node:net"

/**
 * A POST that connects only to addresses already checked against the egress
 * list. fetch would resolve the host name a second time, and a name's DNS
 * server can answer that second lookup with an address the check never saw
 * (DNS rebinding onto cloud metadata or an internal service). The host name
 * still goes in the Host header and in TLS's SNI and certificate check.
 * Webhooks.ts imports this file when it sends its first alert, so a stdio
 * server that never sends one never loads node:http.
 */

/** A lookup that answers every host with `addresses`, in their order, as the connection asks (one or all, by family). */
export const pinnedLookup = (addresses: ReadonlyArray<string>): LookupFunction => (hostname, options, callback) => {
  const entries = addresses
    .map((address) => ({ address, family: isIPv6(address) ? 6 : 4 }))
    .filter((entry) => options.family !== 4 && options.family !== 6 ? true : entry.family === options.family)
  const first = entries[0]
  if (first === undefined) {
    callback(Object.assign(new Error(`${hostname} has no checked address of this family`), { code: "ENOTFOUND" }), "")
  } else if (options.all === true) {
    callback(null, entries)
  } else {
    callback(null, first.address, first.family)
  }
}

export interface PinnedPost {
  readonly url: string
  /** Where to connect; undefined when the URL's host is an address literal (checked as it is). */
  readonly addresses: ReadonlyArray<string> | undefined
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  readonly signal: AbortSignal
}

/**
 * Sends the POST and reads the answer to its end; resolves with its status.
 * Redirects are never followed.
 */
export const postPinned = (post: PinnedPost): Promise<number> => {
  const url = new URL(post.url)
  const request = url.protocol === "https:" ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const sent = request(url, {
      method: "POST",
      headers: { ...post.headers, "content-length": String(Buffer.byteLength(post.body)) },
      signal: post.signal,
      ...(post.addresses === undefined ? {} : { lookup: pinnedLookup(post.addresses) })
    }, (response) => {
      response.on("error", reject)
      response.on("end", () => resolve(response.statusCode ?? 0))
      response.resume()
    })
    sent.on("error", reject)
    sent.end(post.body)
  })
}
