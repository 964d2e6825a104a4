import type { NmapRun } from "../../tools/nmap/result.js"
import { hostDetails } from "./model.js"

/** Findings about whole hosts (host scripts, OS guesses, uptime, distance), beside the per-port table; nothing when there are none. */
export function HostFindings({ run }: { readonly run: NmapRun }) {
  const hosts = hostDetails(run)
  if (hosts.length === 0) return null
  return (
    <ul class="host-findings">
      {hosts.map((host) => (
        <li key={host.address}>
          <strong>{host.address}</strong>
          {host.hostname === "" ? null : ` (${host.hostname})`}
          {host.os.length === 0 ? null : (
            <p>
              OS: {host.os.map((match) => `${match.name} (${match.accuracy}%)`).join("; ")}
            </p>
          )}
          {host.uptimeSeconds === undefined ? null : <p>Up for {Math.round(host.uptimeSeconds / 3600)} h</p>}
          {host.distance === undefined ? null : <p>{host.distance} network {host.distance === 1 ? "hop" : "hops"} away</p>}
          {host.scripts.map((script) => (
            <details class="finding" key={script.id}>
              <summary>{script.id}</summary>
              <pre>{script.output}</pre>
            </details>
          ))}
        </li>
      ))}
    </ul>
  )
}
