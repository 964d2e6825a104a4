/**
 * The NSE (nmap scripting engine) allow-list. A `--script` value is a comma
 * list of script names and categories; anything else nmap accepts there (file
 * and directory paths, globs, boolean expressions, `+` forcing) loads or
 * selects Lua code the operator never vetted, so it is refused.
 *
 * Categories are judged by everything they select, not by their name: a
 * script has several categories, and nmap files many checks under a tame one
 * and a gated one at once (ssl-heartbleed is `safe vuln`, ftp-anon is
 * `default auth safe`, http-git is `default safe vuln`). So a category is
 * never passed to nmap bare: the server turns it into an expression callers
 * cannot write themselves (see `scopedCategories`).
 * - The tame categories (`default`, `version`, `safe`, `discovery`) exclude
 *   every script that also carries a gated category, and every script that
 *   reaches past the target (broadcast, external, fcrdns, which asks the
 *   host's resolver despite `-n`). What they select is therefore never
 *   intrusive; a gated check is run by naming it or its category.
 * - The gated categories (`vuln`, `exploit`, `fuzzer`, `brute`, `auth`)
 *   attack or log in to the target: allowed only when intrusive operations
 *   are, and still without broadcast, external, dos and fcrdns scripts.
 * - `intrusive`, `dos`, `malware`, `external`, `broadcast` and `all` are
 *   refused outright. Scripts from them are available by name.
 * Every lookup here is keyed by caller text, so the tables are Maps: a name
 * such as `constructor` or `__proto__` finds nothing.
 */

/** Scripts that reach hosts other than the target, and dos; never selected through a category. */
const beyondTheTarget: ReadonlyArray<string> = ["broadcast", "external", "dos", "fcrdns"]

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

export interface ScopedCategory {
  /** The boolean expression nmap receives instead of the category's name. */
  readonly expression: string
  readonly intrusive: boolean
  /** Categories and script names the expression excludes. */
  readonly excluded: ReadonlyArray<string>
}

const scoped = (category: string, intrusive: boolean): readonly [string, ScopedCategory] => {
  const excluded = intrusive
    ? beyondTheTarget
    : [...beyondTheTarget, ...intrusiveScriptCategories.filter((c) => !beyondTheTarget.includes(c))]
  return [category, { expression: `(${category} and not (${excluded.join(" or ")}))`, intrusive, excluded }]
}

/** Every category callers may name, with the expression nmap receives instead of it. */
export const scopedCategories: ReadonlyMap<string, ScopedCategory> = new Map([
  scoped("default", false),
  scoped("version", false),
  scoped("safe", false),
  scoped("discovery", false),
  scoped("vuln", true),
  scoped("exploit", true),
  scoped("fuzzer", true),
  scoped("brute", true),
  scoped("auth", true)
])

export const safeCategories: ReadonlyArray<string> = [...scopedCategories].filter(([, c]) => !c.intrusive).map(([name]) => name)

export const intrusiveCategories: ReadonlyArray<string> = [...scopedCategories].filter(([, c]) => c.intrusive).map(([name]) => name)

/**
 * The `--script` value nmap receives for an accepted list: a plain comma list
 * of script names, or, when a category is present, one boolean expression
 * joined by `or`.
 */
export const scriptArgument = (items: ReadonlyArray<string>): string =>
  items.some((item) => scopedCategories.has(item))
    ? items.map((item) => scopedCategories.get(item)?.expression ?? item).join(" or ")
    : items.join(",")

export const refusedCategories: ReadonlyMap<string, string> = new Map([
  ["all", "selects every script, including broadcast, external and denial-of-service ones"],
  ["intrusive", "includes broadcast and local-network flooding scripts"],
  ["dos", "includes broadcast-avahi-dos and ipv6-ra-flood, which hit hosts other than the target"],
  ["malware", "includes scripts that send the target to third-party services"],
  ["external", "sends the target or its data to third-party services"],
  ["broadcast", "sends packets to every host on the local network, not to the target"]
])

/**
 * Curated scripts with their nmap 7.93 categories. None is in `broadcast` or
 * `external` and none has a prerule (which could add targets).
 */
export const knownScripts: ReadonlyMap<string, ReadonlyArray<string>> = new Map(Object.entries({
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
}))

/**
 * A script with any gated category is intrusive, whatever else it is filed
 * under: `default` or `safe` next to `auth` or `vuln` does not make it tame.
 */
export const isIntrusiveScript = (name: string): boolean =>
  (knownScripts.get(name) ?? []).some((category) => intrusiveScriptCategories.includes(category))

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
  const refused = refusedCategories.get(item)
  if (refused !== undefined) {
    return refuse("script_not_allowed", `Script category '${item}' is not accepted: it ${refused}. Name the scripts you need.`)
  }
  const category = scopedCategories.get(item)
  if (category !== undefined) return { _tag: "Accepted", item, intrusive: category.intrusive }
  if (knownScripts.has(item)) return { _tag: "Accepted", item, intrusive: isIntrusiveScript(item) }
  return refuse(
    "script_not_allowed",
    `Script '${item}' is not in the allow-list (categories: ${[...scopedCategories.keys()].join(", ")}; or a listed script name)`
  )
}

export const MAX_SCRIPT_ITEMS = 32
