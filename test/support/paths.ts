/**
 * Paths of real routes spelled so that some component (a proxy, the router,
 * a normaliser) could take them for another one: none is in normal form.
 * Shared by the server's path test and the nginx example's.
 */
export const craftedPaths: ReadonlyArray<string> = [
  "//tools",
  "/tools/",
  "/tools//NmapTool/execute",
  "/tools;x",
  "/health;/../tools",
  "/health/../tools",
  "/health/./",
  "/./tools",
  "/tools/.",
  "/tools.",
  "/metrics.",
  "/health/..",
  "/%74ools",
  "/tools%2FNmapTool%2Fexecute",
  "/tools%2fNmapTool",
  "/health%2F..%2Ftools",
  "/%2E%2E/tools",
  "/tools%5CNmapTool",
  "/tools\\NmapTool",
  "/tools%00",
  "/tools%0A",
  "/tools%252F",
  "/tools%C3%A9",
  "/tools%2",
  "/tools%zz",
  "http://127.0.0.1/tools",
  "*"
]

/** The same tricks aimed at /metrics, which a proxy keeps from the internet. */
export const craftedMetricsPaths: ReadonlyArray<string> = [
  "/metrics/",
  "/metrics;x",
  "/METRICS",
  "/Metrics",
  "//metrics",
  "/x/../metrics",
  "/health/../metrics",
  "/%6Detrics",
  "/%6detrics",
  "/metrics%2F",
  "/metrics.",
  "/metrics/.",
  "/./metrics",
  "/metrics?x=1",
  "/metrics/?",
  "/metrics%3B",
  "/metrics%20"
]

/** Paths of the API in normal form. */
export const normalPaths: ReadonlyArray<string> = [
  "/",
  "/health",
  "/metrics",
  "/tools",
  "/tools/NmapTool/execute",
  "/openapi.json",
  "/tools/a%20b/execute",
  "/x/a:b@c"
]
