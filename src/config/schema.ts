import { Schema } from "effect"
import { CallerScope } from "../identity/Caller.js"
import { Engagement } from "../policy/Engagement.js"
import { bounded, boundedInt } from "./bounded.js"
import { WatchConfig, watchDefaults } from "./watch.js"

/**
 * The configuration schema: one source of truth for the defaults, the file
 * format, the environment variable names and the clamping ranges. The README's
 * configuration reference is generated from the annotations here.
 */

export const Transport = Schema.Literal("stdio", "http")
export type Transport = typeof Transport.Type

export const LogLevelName = Schema.Literal("TRACE", "DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL", "FATAL", "NONE")

export const ServerConfig = Schema.Struct({
  transport: Transport.annotations({
    description: "stdio for local MCP clients (Claude Desktop), http for remote agents and the REST API"
  }),
  host: Schema.String.annotations({ description: "HTTP bind address; a non-loopback address requires API keys (see auth)" }),
  port: boundedInt(0, 65535, "HTTP port (0 picks a free port)"),
  shutdown_grace_period: bounded(
    0,
    600,
    "Seconds running executions may finish after SIGTERM/SIGINT before their process groups are killed"
  ),
  max_connections: boundedInt(
    1,
    100000,
    "Maximum concurrent HTTP connections; a connection beyond it is answered 503 (TooManyConnections, Retry-After) and closed"
  ),
  max_connections_per_address: boundedInt(
    1,
    100000,
    "Concurrent HTTP connections one source address (an IPv6 client's /64) may hold; beyond it answered 503 like max_connections. Behind a reverse proxy every connection comes from the proxy: raise it to max_connections there"
  ),
  headers_timeout: bounded(
    0.5,
    3600,
    "Seconds a client may take to send its request headers before the server drops the connection (slow clients)"
  ),
  request_timeout: bounded(
    1,
    86400,
    "Seconds a client may take to send its whole request, headers and body (at least headers_timeout); responses may stream longer"
  ),
  config_watch_interval: bounded(0.1, 3600, "Seconds between checks of the config file for changes (hot reload)"),
  mcp_session_idle_timeout: bounded(
    1,
    86400,
    "Seconds after which an MCP HTTP session with no request, open stream or running task is closed"
  ),
  mcp_max_sessions: boundedInt(
    1,
    100000,
    "MCP HTTP sessions the server holds at most; a new one replaces the least recently used idle session of any client"
  ),
  mcp_sessions_per_client: boundedInt(
    1,
    10000,
    "MCP HTTP sessions one client (API key or address) may hold; a new one replaces the client's least recently used idle session"
  ),
  mcp_stateless: Schema.Boolean.annotations({
    description: "Serve /mcp without sessions: every request is self-contained (no Mcp-Session-Id, no GET stream, no tasks)"
  }),
  mcp_event_buffer_bytes: boundedInt(
    0,
    256 * 1024 * 1024,
    "Bytes of SSE events each MCP HTTP session keeps for replay after a dropped stream (Last-Event-ID); 0 turns resumability off"
  ),
  progress_interval: bounded(
    1,
    300,
    "Seconds between MCP progress notifications (and task status updates) while a call runs, even when the tool reports nothing new"
  ),
  max_body_bytes: boundedInt(1024, 10 * 1024 * 1024, "Maximum HTTP request body size in bytes"),
  allowed_hosts: Schema.Array(Schema.String).annotations({
    description: "Host header values accepted on /mcp (DNS-rebinding protection); empty means the bind host and loopback names"
  }),
  allowed_origins: Schema.Array(Schema.String).annotations({
    description: "Origin header values accepted on /mcp; requests without Origin are accepted"
  }),
  stdio_engagement: Schema.String.annotations({
    description: "The engagement the stdio operator acts in (also serve --engagement NAME); empty: none by default, and a call may name any"
  })
})

export const SecurityConfig = Schema.Struct({
  allow_intrusive: Schema.Boolean.annotations({
    description: "Allow intrusive operations (nmap -A, vuln/exploit/brute/dos/intrusive scripts, masscan). Audited."
  }),
  allowed_targets: Schema.Array(Schema.String).annotations({
    description: "Allowed targets: CIDRs, the aliases RFC1918 / loopback / ULA, or name suffixes starting with a dot"
  }),
  allow_ipv6: Schema.Boolean.annotations({ description: "Accept IPv6 targets inside allowed_targets (::1, fc00::/7)" }),
  max_network_size: boundedInt(1, 65536, "Largest number of addresses one CIDR/range target may cover"),
  max_args_length: boundedInt(64, 65536, "Maximum total length in bytes of a call's arguments"),
  max_output_size: boundedInt(1024, 64 * 1024 * 1024, "stdout cap in bytes; output beyond it is dropped and flagged truncated"),
  max_stderr_size: boundedInt(1024, 16 * 1024 * 1024, "stderr cap in bytes"),
  timeout_seconds: bounded(1, 86400, "Upper bound on any execution's timeout"),
  concurrency_limit: boundedInt(1, 64, "Upper bound on any tool's concurrent executions"),
  dns_lookups_per_client: boundedInt(
    1,
    64,
    "Host-name lookups one client may have in flight at once (a stalling resolver then holds only its own); more wait their turn within the lookup timeout"
  ),
  dns_cache_seconds: bounded(0, 3600, "Seconds a resolved host name's addresses are reused (0: no cache)"),
  dns_negative_cache_seconds: bounded(
    0,
    3600,
    "Seconds a name that failed to resolve (or timed out) fails again without a lookup (0: no cache)"
  ),
  max_memory_mb: boundedInt(16, 65536, "Address-space limit per child process (prlimit --as)"),
  max_file_descriptors: boundedInt(16, 65536, "Open-file limit per child process (prlimit --nofile)"),
  resource_limits: Schema.Literal("enforce", "best_effort").annotations({
    description: "enforce: without prlimit/setpriv (util-linux; absent on macOS and BSD) tool calls fail with ResourceLimitsUnavailable; " +
      "best_effort: run without them (timeouts, output caps and group kill still apply) with a note in each result"
  }),
  kill_grace_seconds: bounded(0, 60, "Seconds between SIGTERM and SIGKILL when a process group is stopped"),
  audit_log_path: Schema.String.annotations({
    description:
      "Append-only JSON-lines audit log of every execution attempt; empty disables the file (events still go to the log). Reopened on SIGHUP and after a rename or delete (logrotate)"
  }),
  audit_fail_closed: Schema.Literal("intrusive", "all").annotations({
    description:
      "Which calls fail when their audit line cannot be written (disk full, I/O error): intrusive (their lines go to the application log otherwise) or all"
  }),
  audit_rejections_interval: bounded(
    1,
    3600,
    "Seconds over which the calls a client makes past its rate limit, and HTTP requests refused for their key or scope, are counted and written as one rejections line per client, instead of a line each"
  )
})

export const CircuitBreakerConfig = Schema.Struct({
  failure_threshold: boundedInt(1, 1000, "Consecutive failures that open a tool's circuit"),
  recovery_timeout: bounded(0.1, 3600, "Seconds an open circuit waits before letting a trial call through"),
  max_recovery_timeout: bounded(0.1, 86400, "Cap on the recovery timeout as it backs off exponentially on repeated opens"),
  half_open_success_threshold: boundedInt(1, 100, "Successful trial calls needed to close the circuit again")
})

export const RateLimitConfig = Schema.Struct({
  enabled: Schema.Boolean.annotations({ description: "Token-bucket rate limiting of executions" }),
  tool_requests_per_minute: bounded(1, 100000, "Executions per minute per tool, across all clients"),
  tool_burst: boundedInt(1, 10000, "A tool's bucket size: calls of it allowed at once, across all clients, before its rate applies"),
  client_requests_per_minute: bounded(1, 100000, "Executions per minute per client (API key or address), all tools together"),
  burst: boundedInt(1, 10000, "A client's bucket size: calls it may make at once before its rate applies"),
  client_share: bounded(
    0.01,
    1,
    "The part of each tool's bucket one client may take: every client also has a bucket per tool with this fraction of the tool's rate and burst"
  ),
  stdio_requests_per_minute: bounded(
    1,
    100000,
    "Executions per minute of the local operator over stdio (the only client of a stdio server, so no per-tool bucket applies)"
  ),
  stdio_burst: boundedInt(1, 10000, "Bucket size of the stdio operator: calls allowed at once before its rate applies"),
  shared: Schema.Boolean.annotations({
    description:
      "With storage on PostgreSQL, a client's bucket is also shared by every instance (one statement per admitted call; refused calls never reach the database)"
  })
})

export const HealthConfig = Schema.Struct({
  check_interval: bounded(1, 3600, "Seconds between background health check runs"),
  cpu_threshold: bounded(1, 100, "CPU usage percent at which system resources are degraded (unhealthy halfway from it to 100)"),
  memory_threshold: bounded(1, 100, "Memory usage percent at which system resources are degraded (unhealthy halfway from it to 100)"),
  disk_threshold: bounded(1, 100, "Disk usage percent at which system resources are degraded (unhealthy halfway from it to 100)"),
  disk_path: Schema.String.annotations({ description: "Filesystem whose usage is checked" }),
  staleness_seconds: bounded(1, 86400, "Health results older than this are reported stale")
})

export const MetricsConfig = Schema.Struct({
  enabled: Schema.Boolean.annotations({ description: "Collect metrics and serve /metrics" }),
  prometheus_enabled: Schema.Boolean.annotations({ description: "Also serve /metrics on a separate Prometheus port" }),
  prometheus_host: Schema.String.annotations({ description: "Bind address of the separate Prometheus port" }),
  prometheus_port: boundedInt(0, 65535, "Separate Prometheus port")
})

export const LoggingConfig = Schema.Struct({
  level: LogLevelName.annotations({ description: "DEBUG, INFO, WARNING, ERROR, CRITICAL" }),
  format: Schema.Literal("text", "json").annotations({ description: "text (human) or json (one object per line)" }),
  file_path: Schema.String.annotations({ description: "Also append logs to this file; empty for none. Logs never go to stdout." })
})

export const ToolDefaultsConfig = Schema.Struct({
  default_timeout: bounded(
    1,
    86400,
    "Timeout in seconds for custom tools that set none; built-in tools have their own, overridable under tools.<name>.timeout"
  ),
  default_concurrency: boundedInt(
    1,
    64,
    "Concurrent executions for custom tools that set none; built-in tools have their own, overridable under tools.<name>.concurrency"
  ),
  queue_size: boundedInt(0, 10000, "Executions that may wait for a free slot per tool; beyond that callers get ToolBusy"),
  client_share: bounded(
    0.01,
    1,
    "The part of a tool's running slots (at least one) and of its queue one client may hold; past it that client gets ToolBusy, others do not"
  ),
  min_timeout: bounded(
    1,
    86400,
    "Shortest timeout_sec a caller may ask for (shorter requests get this); per tool under tools.<name>.min_timeout"
  ),
  availability_check_interval: bounded(
    1,
    86400,
    "Seconds between re-checks of every tool's binary (a removed one becomes unavailable, a restored one available); also re-checked after a spawn failure"
  )
})

export const ToolOverride = Schema.Struct({
  enabled: Schema.optional(
    Schema.Boolean.annotations({ description: "Offer the tool (default true); the API's enable/disable overrides it until restart" })
  ),
  timeout: Schema.optional(bounded(1, 86400, "Timeout in seconds for this tool")),
  min_timeout: Schema.optional(
    bounded(1, 86400, "Shortest timeout_sec a caller may ask for with this tool; tool.min_timeout when unset")
  ),
  concurrency: Schema.optional(boundedInt(1, 64, "Concurrent executions of this tool"))
})

export const CustomFlag = Schema.Struct({
  name: Schema.String.pipe(Schema.pattern(/^--?[A-Za-z0-9][A-Za-z0-9-]*$/)).annotations({
    description: "The flag as callers write it, e.g. -c or --count"
  }),
  description: Schema.optionalWith(Schema.String.annotations({ description: "Shown to agents in the tool description" }), {
    default: () => ""
  }),
  value: Schema.optionalWith(
    Schema.Union(
      Schema.Struct({ type: Schema.Literal("none") }),
      Schema.Struct({ type: Schema.Literal("int"), min: Schema.Int, max: Schema.Int }),
      Schema.Struct({
        type: Schema.Literal("enum"),
        values: Schema.NonEmptyArray(Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9._:-]+$/)))
      })
    ),
    { default: () => ({ type: "none" as const }) }
  ).annotations({ description: "The flag's value: none, an int range or an enum" }),
  intrusive: Schema.optionalWith(
    Schema.Boolean.annotations({ description: "Using the flag needs allow_intrusive and the intrusive scope" }),
    { default: () => false }
  )
})

export const CustomTool = Schema.Struct({
  name: Schema.String.pipe(Schema.pattern(/^[A-Za-z][A-Za-z0-9_]{0,63}$/)).annotations({
    description: "Public tool name (MCP name and REST path)"
  }),
  description: Schema.String.annotations({ description: "What the tool does, shown to agents" }),
  binary: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9._/-]+$/)).annotations({
    description: "Binary name on PATH or absolute path; shells and interpreters are refused"
  }),
  fixed_args: Schema.optionalWith(
    Schema.Array(Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9.:/=+,@%_-]+$/))).annotations({
      description: "Arguments the server always passes first"
    }),
    { default: () => [] }
  ),
  flags: Schema.Array(CustomFlag).annotations({ description: "The flags callers may pass" }),
  timeout: Schema.optional(bounded(1, 86400, "Timeout in seconds; tool.default_timeout when unset")),
  concurrency: Schema.optional(boundedInt(1, 64, "Concurrent executions; tool.default_concurrency when unset")),
  intrusive: Schema.optionalWith(
    Schema.Boolean.annotations({ description: "Every call is intrusive (needs allow_intrusive and the intrusive scope)" }),
    { default: () => false }
  ),
  trusted_script: Schema.optionalWith(
    Schema.Boolean.annotations({
      description:
        "The binary is a #! script the operator vouches for: it never runs its arguments as code. Scripts are refused otherwise, since their interpreter would run them"
    }),
    { default: () => false }
  )
})
export type CustomTool = typeof CustomTool.Type

const RESERVED_KEY_IDS: ReadonlyArray<string> = ["operator", "stdio"]

export const ApiKey = Schema.Struct({
  id: Schema.String.pipe(
    Schema.pattern(/^[A-Za-z0-9._-]{1,64}$/),
    // The local operator's names: a key called so would be taken for the operator by schedules and in audit lines.
    Schema.filter((id) => !RESERVED_KEY_IDS.includes(id) || `the key id ${id} is reserved for the local operator: name the key otherwise`)
  ).annotations({
    description: "Name of the key in logs, audit lines and rate limits (not operator or stdio, the local operator's names)"
  }),
  sha256: Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/)).annotations({
    description: "Hex SHA-256 of the key; the key itself is never stored"
  }),
  scopes: Schema.optionalWith(
    Schema.Array(CallerScope).annotations({
      description:
        "execute runs tools, intrusive allows intrusive operations, admin enables/disables tools and reads /config and /events, approve decides other keys' pending approvals, schedule creates and removes the key's scheduled rescans"
    }),
    { default: () => ["execute" as const] }
  ),
  allowed_targets: Schema.optional(
    Schema.Array(Schema.String).annotations({ description: "Narrows the server's allowed_targets for this key" })
  ),
  engagements: Schema.optional(
    Schema.Array(Schema.String).annotations({
      description:
        "Engagements the key acts in (calls default to the only one) and, with approve, approves for; without it the key acts in none"
    })
  )
})
export type ApiKey = typeof ApiKey.Type

export const ResultsConfig = Schema.Struct({
  max_hosts: boundedInt(
    1,
    1_048_576,
    "Hosts kept in one structured result; hosts past it are counted and reported as dropped, never silently"
  ),
  max_bytes: boundedInt(
    1024 * 1024,
    1024 * 1024 * 1024,
    "Bytes of facts kept in one structured result (and the most one XML element may hold); past it hosts are counted and reported as dropped"
  ),
  summary_tokens: boundedInt(500, 100_000, "Upper bound on the text summary an agent reads, in tokens, at any scan size")
})

export const AuthConfig = Schema.Struct({
  api_keys: Schema.Array(ApiKey).annotations({
    description: "API keys accepted as Authorization: Bearer; required when binding a non-loopback address"
  }),
  require_auth: Schema.Boolean.annotations({ description: "Require an API key even on loopback" }),
  allow_unauthenticated_non_loopback: Schema.Boolean.annotations({
    description: "Start without API keys on a non-loopback address (unsafe; for use behind an authenticating proxy)"
  })
})

export const RetentionConfig = Schema.Struct({
  max_age_days: bounded(0, 36500, "Stored scans older than this many days are deleted; 0 keeps them regardless of age"),
  max_scans: boundedInt(0, 1e9, "Only the newest this many scans are kept; 0 for no limit"),
  max_bytes: boundedInt(
    0,
    2 ** 50,
    "Oldest scans are deleted while the stored scans take more bytes than this (compressed); 0 for no limit"
  )
})

/** A PostgreSQL URL carries a password: any message about it must not quote it. */
const StorageUrl = Schema.Redacted(
  Schema.String.pipe(
    Schema.filter((url) => url === "" || /^postgres(ql)?:\/\//.test(url), {
      message: () => "must be empty (the embedded SQLite store) or a postgres:// URL"
    })
  )
)

export const StorageConfig = Schema.Struct({
  enabled: Schema.Boolean.annotations({
    description: "Store every execution that passed policy (results, raw output, timings) for later retrieval and diffs"
  }),
  path: Schema.String.annotations({
    description:
      "Directory of the embedded SQLite store (created 0700, files 0600); empty means data/ beside the config file, or under the working directory without one"
  }),
  url: StorageUrl.annotations({
    description:
      "postgres://user:password@host:port/database to store in PostgreSQL (shared by several instances) instead of SQLite; a secret, never logged"
  }),
  retention: RetentionConfig.annotations({
    description: "Limits enforced by the background sweep: max_age_days (0 – 36500), max_scans and max_bytes (0 disables each)"
  }),
  sweep_interval: bounded(1, 86400, "Seconds between retention sweeps")
})
export type StorageConfig = typeof StorageConfig.Type

export const ApprovalsConfig = Schema.Struct({
  ttl: bounded(
    10,
    7 * 86400,
    "Seconds a pending approval may wait for its decision, and an approved one for its run, before it expires"
  ),
  standing_max_ttl: bounded(
    3600,
    366 * 86400,
    "Seconds a schedule's standing approval lasts at most (it never outlasts its engagement's end): then the schedule asks again"
  ),
  allow_self_approval_single_operator_lab: Schema.Boolean.annotations({
    description:
      "UNSAFE outside a one-person lab: lets a key approve its own requests, so a model holding that key can approve itself. Warned about at start-up and when turned on"
  })
})

export const AppConfig = Schema.Struct({
  server: ServerConfig,
  security: SecurityConfig,
  circuit_breaker: CircuitBreakerConfig,
  rate_limit: RateLimitConfig,
  health: HealthConfig,
  metrics: MetricsConfig,
  logging: LoggingConfig,
  tool: ToolDefaultsConfig,
  tools: Schema.Record({ key: Schema.String, value: ToolOverride }).annotations({ description: "Per-tool overrides keyed by tool name" }),
  custom_tools: Schema.Array(CustomTool).annotations({ description: "Operator-defined tools: binary plus a flag allow-list" }),
  results: ResultsConfig,
  auth: AuthConfig,
  storage: StorageConfig,
  approvals: ApprovalsConfig,
  engagements: Schema.Array(Engagement).annotations({
    description: "Engagements (written scopes as code), inline; those in engagements_dir are added to them"
  }),
  engagements_dir: Schema.String.annotations({
    description:
      "Directory of engagement files (*.yaml, *.yml, *.json: one engagement or a list each), relative to the config file; reloaded with it"
  }),
  watch: WatchConfig.annotations({ description: "Scheduled rescans, their change alerts (webhooks) and how instances share them" })
})
export type AppConfig = typeof AppConfig.Type

export const defaults: typeof AppConfig.Encoded = {
  server: {
    transport: "stdio",
    host: "127.0.0.1",
    port: 8080,
    shutdown_grace_period: 30,
    max_connections: 100,
    max_connections_per_address: 64,
    headers_timeout: 10,
    request_timeout: 30,
    config_watch_interval: 2,
    mcp_session_idle_timeout: 300,
    mcp_max_sessions: 256,
    mcp_sessions_per_client: 16,
    mcp_stateless: false,
    mcp_event_buffer_bytes: 4 * 1024 * 1024,
    progress_interval: 5,
    max_body_bytes: 65536,
    allowed_hosts: [],
    allowed_origins: [],
    stdio_engagement: ""
  },
  security: {
    allow_intrusive: false,
    allowed_targets: ["RFC1918", "loopback", ".lab.internal"],
    allow_ipv6: false,
    max_network_size: 1024,
    max_args_length: 2048,
    max_output_size: 1048576,
    max_stderr_size: 262144,
    timeout_seconds: 300,
    concurrency_limit: 4,
    dns_lookups_per_client: 2,
    dns_cache_seconds: 30,
    dns_negative_cache_seconds: 5,
    max_memory_mb: 512,
    max_file_descriptors: 256,
    resource_limits: "enforce",
    kill_grace_seconds: 2,
    audit_log_path: "",
    audit_fail_closed: "intrusive",
    audit_rejections_interval: 60
  },
  circuit_breaker: {
    failure_threshold: 5,
    recovery_timeout: 60,
    max_recovery_timeout: 600,
    half_open_success_threshold: 1
  },
  rate_limit: {
    enabled: true,
    tool_requests_per_minute: 120,
    tool_burst: 60,
    client_requests_per_minute: 60,
    burst: 30,
    client_share: 0.5,
    stdio_requests_per_minute: 600,
    stdio_burst: 100,
    shared: true
  },
  health: {
    check_interval: 30,
    cpu_threshold: 80,
    memory_threshold: 80,
    disk_threshold: 80,
    disk_path: "/",
    staleness_seconds: 60
  },
  metrics: {
    enabled: true,
    prometheus_enabled: false,
    prometheus_host: "127.0.0.1",
    prometheus_port: 9090
  },
  logging: {
    level: "INFO",
    format: "text",
    file_path: ""
  },
  tool: {
    default_timeout: 300,
    default_concurrency: 2,
    queue_size: 64,
    client_share: 0.5,
    min_timeout: 1,
    availability_check_interval: 60
  },
  tools: {},
  custom_tools: [],
  results: {
    max_hosts: 1024,
    max_bytes: 64 * 1024 * 1024,
    summary_tokens: 1500
  },
  auth: {
    api_keys: [],
    require_auth: false,
    allow_unauthenticated_non_loopback: false
  },
  storage: {
    enabled: true,
    path: "",
    url: "",
    retention: { max_age_days: 90, max_scans: 100000, max_bytes: 1073741824 },
    sweep_interval: 3600
  },
  approvals: {
    ttl: 900,
    standing_max_ttl: 30 * 86400,
    allow_self_approval_single_operator_lab: false
  },
  engagements: [],
  engagements_dir: "",
  watch: watchDefaults
}

/** Settings read once at start-up; a reload that changes them is applied only after a restart. */
export const restartRequired: ReadonlyArray<string> = [
  "server.transport",
  "server.host",
  "server.port",
  "server.max_connections",
  "server.max_connections_per_address",
  "server.headers_timeout",
  "server.request_timeout",
  "server.stdio_engagement",
  "metrics.prometheus_enabled",
  "metrics.prometheus_host",
  "metrics.prometheus_port",
  "logging.file_path",
  "custom_tools",
  "storage.enabled",
  "storage.path",
  "storage.url"
]
