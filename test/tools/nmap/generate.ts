/** nmap `-oX` documents built in tests, shaped like nmap 7.93's own output. */

export interface GeneratedHost {
  readonly address: string
  readonly state?: "up" | "down"
  readonly open: ReadonlyArray<number>
  readonly closed?: ReadonlyArray<number>
  /** Extra attributes of the service of every open port, e.g. `product="x"`. */
  readonly service?: string
  /** Script output on the first open port (XML-escaped by the generator). */
  readonly script?: { readonly id: string; readonly output: string }
}

export const xmlEscape = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/\n/g, "&#xa;")

const portXml = (p: number, state: string, h: GeneratedHost, first: boolean): string => {
  const reason = state === "open" ? "syn-ack" : "conn-refused"
  const service = state === "open" ? `<service name="unknown" ${h.service ?? "method=\"table\" conf=\"3\""}/>` : ""
  const script = first && h.script !== undefined
    ? `<script id="${xmlEscape(h.script.id)}" output="${xmlEscape(h.script.output)}"/>`
    : ""
  return `<port protocol="tcp" portid="${p}"><state state="${state}" reason="${reason}" reason_ttl="0"/>${service}${script}</port>\n`
}

export const hostXml = (h: GeneratedHost): string => {
  const state = h.state ?? "up"
  const ports = [
    ...h.open.map((p, i) => portXml(p, "open", h, i === 0)),
    ...(h.closed ?? []).map((p) => portXml(p, "closed", h, false))
  ].join("")
  return `<host starttime="1795671220" endtime="1795671221"><status state="${state}" reason="user-set" reason_ttl="0"/>\n` +
    `<address addr="${h.address}" addrtype="ipv4"/>\n<hostnames>\n</hostnames>\n` +
    (state === "up" ? `<ports>${ports}</ports>\n` : "") +
    `<times srtt="50" rttvar="20" to="100000"/>\n</host>\n`
}

export const nmapXml = (hosts: ReadonlyArray<GeneratedHost>, stats = true): string => {
  const up = hosts.filter((h) => (h.state ?? "up") === "up").length
  return [
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
    "<!DOCTYPE nmaprun>",
    "<nmaprun scanner=\"nmap\" args=\"nmap -oX - -n -sT -Pn generated\" start=\"1795671220\" version=\"7.93\" xmloutputversion=\"1.05\">",
    "<scaninfo type=\"connect\" protocol=\"tcp\" numservices=\"50\" services=\"20000-20049\"/>",
    "<verbose level=\"0\"/>",
    "<debugging level=\"0\"/>",
    ...hosts.map(hostXml),
    stats
      ? `<runstats><finished time="1795671222" timestr="x" summary="done" elapsed="1.32" exit="success"/><hosts up="${up}" down="${
        hosts.length - up
      }" total="${hosts.length}"/>\n</runstats>\n</nmaprun>`
      : ""
  ].join("\n")
}

/** `127.a.b.c` for host number `i` counted from 127.0.0.0. */
export const loopback = (i: number): string => `127.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`

export const range = (from: number, count: number): ReadonlyArray<number> => Array.from({ length: count }, (_, i) => from + i)

/** `count` hosts from 127.0.0.0, each with the same open ports. */
export const uniformHosts = (count: number, open: ReadonlyArray<number>): ReadonlyArray<GeneratedHost> =>
  Array.from({ length: count }, (_, i) => ({ address: loopback(i), open }))
