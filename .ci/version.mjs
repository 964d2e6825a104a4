// `npm version <new>` runs this as the "version" script, after it bumped package.json and before it commits: the
// files that pin the version follow it, and are staged for that commit. Tests check they agree
// (test/packaging/registry.test.ts, mcpb.test.ts, test/docs/deploy.test.ts).
import { execFileSync } from "node:child_process"
import { existsSync, readFileSync, writeFileSync } from "node:fs"

const pkg = JSON.parse(readFileSync("package.json", "utf8"))
const files = ["config/deploy/server.json", "config/deploy/mcpb/manifest.json", "config/deploy/claude_desktop_config.json", "README.md"]
const previous = JSON.parse(readFileSync("config/deploy/server.json", "utf8")).version
if (previous !== pkg.version) {
  for (const file of files) {
    const text = readFileSync(file, "utf8")
      .replaceAll(`"version": "${previous}"`, `"version": "${pkg.version}"`)
      .replaceAll(`${pkg.name}@${previous}`, `${pkg.name}@${pkg.version}`)
      .replaceAll(`${pkg.name}-${previous}.`, `${pkg.name}-${pkg.version}.`)
    writeFileSync(file, text)
  }
  if (existsSync(".git")) execFileSync("git", ["add", ...files])
}
