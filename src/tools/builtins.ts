import { digSpec } from "./dig.js"
import { httpProbeSpec } from "./httpProbe.js"
import { masscanSpec } from "./masscan.js"
import { nmapSpec } from "./nmap/spec.js"
import { pingSpec } from "./ping.js"
import { tlsProbeSpec } from "./tlsProbe.js"
import type { ToolSpec } from "./ToolSpec.js"
import { tracerouteSpec } from "./traceroute.js"

/** The tools the server ships, in the order they are listed to clients; `any` because each has its own result type. */
export const builtinTools: ReadonlyArray<ToolSpec<any>> = [
  nmapSpec,
  pingSpec,
  tracerouteSpec,
  digSpec,
  masscanSpec,
  httpProbeSpec,
  tlsProbeSpec
]
