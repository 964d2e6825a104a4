import { readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { renderBench, replaceBench, type Results } from "./readme.js"

/** `npm run bench:readme`: the README's performance table again from bench/results.json, without measuring. */
const root = fileURLToPath(new URL("..", import.meta.url))
const results = JSON.parse(readFileSync(`${root}bench/results.json`, "utf8")) as Results
const readme = `${root}README.md`
writeFileSync(readme, replaceBench(readFileSync(readme, "utf8"), renderBench(results)))
process.stdout.write(`wrote the performance table of ${readme}\n`)
