// `npm run mcpb`: the Claude Desktop extension, dist/security-mcp-server-<version>.mcpb. An MCP Bundle is a zip
// with manifest.json at its root (https://github.com/modelcontextprotocol/mcpb, manifest spec 0.3); ours holds
// config/deploy/mcpb/manifest.json plus exactly the files of the npm package (`npm pack --dry-run` lists them), and
// the installed runtime dependencies when package.json has any. A dependency with a native addon ties the bundle
// to this platform: its manifest then names only this platform and the file name says which.
import { execFileSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { deflateRawSync } from "node:zlib"

process.chdir(fileURLToPath(new URL("..", import.meta.url)))
const pkg = JSON.parse(readFileSync("package.json", "utf8"))
const manifest = JSON.parse(readFileSync("config/deploy/mcpb/manifest.json", "utf8"))
if (manifest.version !== pkg.version) {
  throw new Error(`config/deploy/mcpb/manifest.json has version ${manifest.version}, package.json ${pkg.version}`)
}

const npm = process.env["npm_execpath"] ? [process.execPath, process.env["npm_execpath"]] : ["npm"]
const [packed] = JSON.parse(
  execFileSync(npm[0], [...npm.slice(1), "pack", "--dry-run", "--json", "--ignore-scripts"], { encoding: "utf8" })
)
const files = packed.files.map((f) => f.path)

/**
 * Every file of the installed runtime dependencies and theirs (looked up as Node does: nested first, then hoisted);
 * build intermediates of native addons are left out.
 */
const dependencyFiles = (names, from = ".", seen = new Set()) =>
  names.flatMap((name) => {
    const nested = join(from, "node_modules", name)
    const dir = existsSync(nested) ? nested : join("node_modules", name)
    if (seen.has(dir) || (optional.has(name) && !existsSync(dir))) return []
    seen.add(dir)
    const own = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"))
    const walk = (path) =>
      statSync(path).isDirectory() ? readdirSync(path).flatMap((entry) => walk(join(path, entry))) : [path]
    // Nested dependencies are walked as dependencies of their own, not as files of this one; of a native addon's
    // build directory only the addon itself is needed.
    const addon = existsSync(join(dir, "binding.gyp"))
    const mine = walk(dir).filter((path) => !path.slice(dir.length).includes("/node_modules/"))
      .filter((path) => !addon || !path.slice(dir.length).startsWith("/build/") || path.endsWith(".node"))
    // Optional dependencies (prebuilt addons for one platform each) are taken where they are installed.
    for (const name of Object.keys(own.optionalDependencies ?? {})) optional.add(name)
    const next = Object.keys({ ...own.dependencies, ...own.optionalDependencies })
    return [...mine, ...dependencyFiles(next, dir, seen)]
  })
const optional = new Set()
const runtime = dependencyFiles(Object.keys(pkg.dependencies ?? {}))
const native = runtime.some((path) => path.endsWith(".node") || path.endsWith("binding.gyp"))
if (native) manifest.compatibility = { ...manifest.compatibility, platforms: [process.platform] }

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})
const crc32 = (data) => {
  let c = 0xffffffff
  for (const byte of data) c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

/** A zip archive (deflate, no zip64: an extension is megabytes, not gigabytes) with fixed timestamps. */
const zip = (entries) => {
  const locals = []
  const centrals = []
  let offset = 0
  for (const { name, data, mode } of entries) {
    const packed = deflateRawSync(data, { level: 9 })
    const nameBytes = Buffer.from(name, "utf8")
    const crc = crc32(data)
    const fields = (header) => {
      header.writeUInt16LE(0x0800, 0) // general purpose flags: UTF-8 names
      header.writeUInt16LE(8, 2) // deflate
      header.writeUInt16LE(0, 4) // time 00:00
      header.writeUInt16LE(0x21, 6) // date 1980-01-01
      header.writeUInt32LE(crc, 8)
      header.writeUInt32LE(packed.length, 12)
      header.writeUInt32LE(data.length, 16)
      header.writeUInt16LE(nameBytes.length, 20)
      return header
    }
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4)
    fields(local.subarray(6))
    locals.push(local, nameBytes, packed)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE(0x0314, 4) // made by: Unix, spec 2.0, so the file modes below are read
    central.writeUInt16LE(20, 6)
    fields(central.subarray(8))
    central.writeUInt32LE(((0o100000 | mode) << 16) >>> 0, 38)
    central.writeUInt32LE(offset, 42)
    centrals.push(central, nameBytes)
    offset += local.length + nameBytes.length + packed.length
  }
  const directory = Buffer.concat(centrals)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(entries.length, 8)
  end.writeUInt16LE(entries.length, 10)
  end.writeUInt32LE(directory.length, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...locals, directory, end])
}

const entries = [
  { name: "manifest.json", data: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), mode: 0o644 },
  ...[...files, ...runtime].sort().map((path) => ({
    name: path,
    data: readFileSync(path),
    mode: statSync(path).mode & 0o111 ? 0o755 : 0o644
  }))
]
const out = `dist/${pkg.name}-${pkg.version}${native ? `-${process.platform}-${process.arch}` : ""}.mcpb`
writeFileSync(out, zip(entries))
process.stdout.write(`${out}\n`)
