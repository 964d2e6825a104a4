/**
 * The NSE (nmap scripting engine) allow-list. A `--script` value is a comma
 * list of script names and categories; anything else nmap accepts there (file
 * and directory paths, globs, boolean expressions, `+` forcing) loads or
 * selects Lua code the operator never vetted, so it is refused.
 *
 * Categories are judged by everything they select (checked against nmap
 * 7.93's script.db), not by their name. Even the tame ones hold a few scripts
 * that reach past the target: `default` has http-open-proxy and
 * socks-open-proxy (external: they look up and connect to www.google.com),
 * `safe` and `discovery` have broadcast-* scripts and fcrdns (which asks the
 * host's resolver despite `-n`), `brute`, `auth` and `exploit` have external
 * or dos members. So a category is never passed to nmap bare: the server
 * turns it into an expression that excludes broadcast, external, dos and
 * fcrdns (see `scopedCategories`), which callers cannot write themselves.
 * - `default`, `version`, `safe` and `discovery` (minus its intrusive
 *   scripts) are allowed.
 * - `vuln`, `exploit`, `fuzzer`, `brute` and `auth` attack or log in to the
 *   target: allowed only when intrusive operations are.
 * - `intrusive`, `dos`, `malware`, `external`, `broadcast` and `all` are
 *   refused outright. Scripts from them are available by name.
 */

const beyondTheTarget = "broadcast or external or dos or fcrdns"

const scoped = (category: string, intrusive: boolean, alsoExclude: ReadonlyArray<string> = []) => ({
  expression: `(${category} and not (${[beyondTheTarget, ...alsoExclude].join(" or ")}))`,
  intrusive
})

/** Every category callers may name, with the expression nmap receives instead of it. */
export const scopedCategories: Readonly<Record<string, { readonly expression: string; readonly intrusive: boolean }>> = {
  default: scoped("default", false),
  version: scoped("version", false),
  safe: scoped("safe", false),
  discovery: scoped("discovery", false, ["intrusive"]),
  vuln: scoped("vuln", true),
  exploit: scoped("exploit", true),
  fuzzer: scoped("fuzzer", true),
  brute: scoped("brute", true),
  auth: scoped("auth", true)
}

export const safeCategories: ReadonlyArray<string> = Object.keys(scopedCategories).filter((c) => !scopedCategories[c]!.intrusive)

export const intrusiveCategories: ReadonlyArray<string> = Object.keys(scopedCategories).filter((c) => scopedCategories[c]!.intrusive)

/**
 * The `--script` value nmap receives for an accepted list: a plain comma list
 * of script names, or, when a category is present, one boolean expression
 * joined by `or`.
 */
export const scriptArgument = (items: ReadonlyArray<string>): string =>
  items.some((item) => Object.hasOwn(scopedCategories, item))
    ? items.map((item) => scopedCategories[item]?.expression ?? item).join(" or ")
    : items.join(",")

export const refusedCategories: Readonly<Record<string, string>> = {
  all: "selects every script, including broadcast, external and denial-of-service ones",
  intrusive: "includes broadcast and local-network flooding scripts",
  dos: "includes broadcast-avahi-dos and ipv6-ra-flood, which hit hosts other than the target",
  malware: "includes scripts that send the target to third-party services",
  external: "sends the target or its data to third-party services",
  broadcast: "sends packets to every host on the local network, not to the target"
}

/** Categories of a script that make running it an intrusive operation. */
export const intrusiveScriptCategories: ReadonlyArray<string> = [
  "vuln",
  "exploit",
  "intrusive",
  "brute",
  "dos",
  "malware",
  "fuzzer",
  "auth"
]

/**
 * Curated scripts with their nmap 7.93 categories. None is in `broadcast` or
 * `external` and none has a prerule (which could add targets).
 */
export const knownScripts: Readonly<Record<string, ReadonlyArray<string>>> = {
  "banner": ["discovery", "safe"],
  "fingerprint-strings": ["version"],
  "ftp-anon": ["auth", "default", "safe"],
  "ftp-syst": ["default", "discovery", "safe"],
  "http-date": ["discovery", "safe"],
  "http-favicon": ["default", "discovery", "safe"],
  "http-generator": ["default", "discovery", "safe"],
  "http-headers": ["discovery", "safe"],
  "http-methods": ["default", "safe"],
  "http-ntlm-info": ["default", "discovery", "safe"],
  "http-robots.txt": ["default", "discovery", "safe"],
  "http-security-headers": ["discovery", "safe"],
  "http-server-header": ["version"],
  "http-title": ["default", "discovery", "safe"],
  "ike-version": ["default", "discovery", "safe", "version"],
  "imap-capabilities": ["default", "safe"],
  "ldap-rootdse": ["discovery", "safe"],
  "memcached-info": ["discovery", "safe"],
  "mongodb-info": ["default", "discovery", "safe"],
  "ms-sql-info": ["default", "discovery", "safe"],
  "ms-sql-ntlm-info": ["default", "discovery", "safe"],
  "mysql-info": ["default", "discovery", "safe"],
  "nbstat": ["default", "discovery", "safe"],
  "nfs-showmount": ["discovery", "safe"],
  "ntp-info": ["default", "discovery", "safe"],
  "dns-nsid": ["default", "discovery", "safe"],
  "dns-recursion": ["default", "safe"],
  "pop3-capabilities": ["default", "discovery", "safe"],
  "rdp-enum-encryption": ["discovery", "safe"],
  "rdp-ntlm-info": ["default", "discovery", "safe"],
  "redis-info": ["discovery", "safe"],
  "rpcinfo": ["default", "discovery", "safe", "version"],
  "rtsp-methods": ["default", "safe"],
  "sip-methods": ["default", "discovery", "safe"],
  "smb-os-discovery": ["default", "discovery", "safe"],
  "smb-protocols": ["discovery", "safe"],
  "smb-security-mode": ["default", "discovery", "safe"],
  "smb2-security-mode": ["default", "discovery", "safe"],
  "smb2-time": ["default", "discovery", "safe"],
  "smtp-commands": ["default", "discovery", "safe"],
  "smtp-ntlm-info": ["default", "discovery", "safe"],
  "snmp-info": ["default", "safe", "version"],
  "snmp-sysdescr": ["default", "discovery", "safe"],
  "ssh-hostkey": ["default", "discovery", "safe"],
  "ssh2-enum-algos": ["discovery", "safe"],
  "sshv1": ["default", "safe"],
  "ssl-cert": ["default", "discovery", "safe"],
  "ssl-date": ["default", "discovery", "safe"],
  "sslv2": ["default", "safe"],
  "telnet-ntlm-info": ["default", "discovery", "safe"],
  "tls-alpn": ["default", "discovery", "safe"],
  "tls-nextprotoneg": ["default", "discovery", "safe"],
  "upnp-info": ["default", "discovery", "safe"],
  "vnc-info": ["default", "discovery", "safe"],
  "ftp-brute": ["brute", "intrusive"],
  "ftp-vsftpd-backdoor": ["exploit", "intrusive", "malware", "vuln"],
  "http-csrf": ["exploit", "intrusive", "vuln"],
  "http-default-accounts": ["auth", "discovery", "intrusive"],
  "http-dombased-xss": ["exploit", "intrusive", "vuln"],
  "http-enum": ["discovery", "intrusive", "vuln"],
  "http-passwd": ["intrusive", "vuln"],
  "http-shellshock": ["exploit", "intrusive", "vuln"],
  "http-slowloris-check": ["safe", "vuln"],
  "http-sql-injection": ["intrusive", "vuln"],
  "http-stored-xss": ["exploit", "intrusive", "vuln"],
  "http-vuln-cve2017-5638": ["vuln"],
  "ms-sql-empty-password": ["auth", "intrusive"],
  "mysql-empty-password": ["auth", "intrusive"],
  "rdp-vuln-ms12-020": ["intrusive", "vuln"],
  "smb-enum-shares": ["discovery", "intrusive"],
  "smb-enum-users": ["auth", "intrusive"],
  "smb-vuln-ms08-067": ["dos", "exploit", "intrusive", "vuln"],
  "smb-vuln-ms17-010": ["safe", "vuln"],
  "snmp-brute": ["brute", "intrusive"],
  "ssh-auth-methods": ["auth", "intrusive"],
  "ssh-brute": ["brute", "intrusive"],
  "ssl-ccs-injection": ["safe", "vuln"],
  "ssl-dh-params": ["safe", "vuln"],
  "ssl-enum-ciphers": ["discovery", "intrusive"],
  "ssl-heartbleed": ["safe", "vuln"],
  "ssl-poodle": ["safe", "vuln"]
}

/** Scripts in `default` run under `-sC` anyway, so naming one is never more intrusive than `-sC`. */
export const isIntrusiveScript = (name: string): boolean => {
  const categories = knownScripts[name] ?? []
  return !categories.includes("default") && categories.some((category) => intrusiveScriptCategories.includes(category))
}

export type ScriptItem =
  | { readonly _tag: "Accepted"; readonly item: string; readonly intrusive: boolean }
  | { readonly _tag: "Refused"; readonly item: string; readonly rule: "forbidden_value" | "script_not_allowed"; readonly message: string }

const expressionWords = new Set(["and", "or", "not", "true", "false"])

/** Judges one entry of a `--script` list. */
export const classifyScriptItem = (item: string): ScriptItem => {
  const refuse = (rule: "forbidden_value" | "script_not_allowed", message: string): ScriptItem => ({ _tag: "Refused", item, rule, message })
  if (item.includes("/") || item.includes("\\") || item.endsWith(".nse")) {
    return refuse(
      "forbidden_value",
      `'${item}' is a script path; only allow-listed script names run (a path would load arbitrary Lua code)`
    )
  }
  if (item.includes(":")) return refuse("forbidden_value", `'${item}' looks like a URL; scripts are chosen by name only`)
  if (/[*?[\]]/.test(item)) return refuse("forbidden_value", `'${item}' is a pattern; name each script`)
  if (item.startsWith("+")) return refuse("forbidden_value", `'${item}': forcing scripts with '+' is not accepted`)
  if (expressionWords.has(item) || /[() ]/.test(item)) {
    return refuse("forbidden_value", `'${item}': boolean script expressions are not accepted; list names or categories`)
  }
  const refused = refusedCategories[item]
  if (refused !== undefined) {
    return refuse("script_not_allowed", `Script category '${item}' is not accepted: it ${refused}. Name the scripts you need.`)
  }
  const category = scopedCategories[item]
  if (category !== undefined) return { _tag: "Accepted", item, intrusive: category.intrusive }
  if (Object.hasOwn(knownScripts, item)) return { _tag: "Accepted", item, intrusive: isIntrusiveScript(item) }
  return refuse(
    "script_not_allowed",
    `Script '${item}' is not in the allow-list (categories: ${Object.keys(scopedCategories).join(", ")}; or a listed script name)`
  )
}

export const MAX_SCRIPT_ITEMS = 32
