import { describe, expect, it } from "@effect/vitest"
import { scopedCategories } from "../../../src/policy/nse.js"
import { nmapProgress } from "../../../src/tools/nmap/progress.js"
import { nmapSpec, nmapUnprivileged } from "../../../src/tools/nmap/spec.js"
import { fixture } from "../support.js"

describe("nmapUnprivileged", () => {
  const notRoot = "it needs raw sockets and nmap is not running as root"

  it("turns a SYN scan into a connect scan and says so", () => {
    expect(nmapUnprivileged(["-sS", "-p", "22,80", "-sV"])).toEqual({
      args: ["-sT", "-p", "22,80", "-sV"],
      notes: ["-sS replaced by -sT: a SYN scan needs raw sockets and nmap is not running as root"]
    })
    expect(nmapUnprivileged(["-sS", "-sT"]).args).toEqual(["-sT"])
  })

  it("keeps the version and script parts of -A", () => {
    const result = nmapUnprivileged(["-A", "-T4"])
    expect(result.args).toEqual(["-sV", "-sC", "-T4"])
    expect(result.notes).toEqual(["-A replaced by -sV -sC: OS detection and traceroute need raw sockets and nmap is not running as root"])
    expect(nmapUnprivileged(["-sV", "-A"]).args).toEqual(["-sV", "-sC"])
  })

  it("drops raw-socket options, one note each naming the flag and what it does", () => {
    const result = nmapUnprivileged(["-sU", "-O", "--osscan-guess", "-PE", "-PU", "-p", "53", "--traceroute", "--defeat-rst-ratelimit"])
    expect(result.args).toEqual(["-p", "53"])
    expect(result.notes).toEqual([
      `-sU dropped (UDP scan): ${notRoot}`,
      `-O dropped (OS detection): ${notRoot}`,
      `--osscan-guess dropped (With -O: guess the OS more aggressively): ${notRoot}`,
      `-PE dropped (ICMP echo host discovery): ${notRoot}`,
      `-PU dropped (UDP host discovery, default port 40125): ${notRoot}`,
      `--traceroute dropped (Trace the network path to the host): ${notRoot}`,
      `--defeat-rst-ratelimit dropped (With -sS: ignore RST rate limiting): ${notRoot}`
    ])
  })

  it("leaves an unprivileged scan untouched", () => {
    const args = ["-sT", "-sV", "-p", "1-1024", "--top-ports", "100", "-T4", "-Pn", "-PS", "-PA"]
    expect(nmapUnprivileged(args)).toEqual({ args, notes: [] })
  })
})

describe("nmapProgress", () => {
  it("reads the last taskprogress in a chunk: task, percentage and the seconds nmap expects it still needs", () => {
    expect(
      nmapProgress(
        "<taskprogress task=\"Connect Scan\" time=\"1\" percent=\"2.07\" remaining=\"0\"/>\n<taskprogress task=\"Connect Scan\" time=\"2\" percent=\"12.34\" remaining=\"36\" etc=\"38\"/>"
      )
    ).toEqual({ task: "Connect Scan", percent: 12.34, remainingSeconds: 36 })
    expect(nmapProgress("<taskprogress task=\"Connect Scan\" percent=\"99\"/><taskbegin task=\"Service scan\" time=\"3\"/>")).toEqual({
      task: "Service scan",
      percent: 0
    })
  })

  it("returns undefined without progress and for a tag split across chunks", () => {
    expect(nmapProgress("<host><status state=\"up\"/>")).toBeUndefined()
    expect(nmapProgress("<taskprogress task=\"Connect Scan\" time=\"1\" perc")).toBeUndefined()
  })

  it("follows a real scan's progress upwards within a phase", () => {
    const values = fixture("nmap/progress.xml").split("\n").map((line) => nmapProgress(line)?.percent).filter((v) => v !== undefined)
    expect(values.length).toBeGreaterThan(10)
    expect(values.every((v) => v >= 0 && v <= 100)).toBe(true)
    expect(values[values.length - 1]!).toBeGreaterThan(values[0]!)
  })
})

describe("nmapSpec", () => {
  it("always asks for XML on stdout, no DNS and periodic stats (which --noninteractive would suppress)", () => {
    expect(nmapSpec.fixedArgs).toEqual(["-oX", "-", "-n", "--stats-every", "5s"])
    expect(nmapSpec.target.kind).toBe("network")
    expect(nmapSpec.target.toArgs("10.0.0.0/28", "10.0.0.0/28")).toEqual(["10.0.0.0/28"])
    expect(nmapSpec.templates.map((t) => t.name)).toEqual(["quick", "standard", "thorough", "discovery"])
  })

  it("parses into data and a summary", () => {
    const parsed = nmapSpec.parse!(fixture("nmap/connect.xml"), "")
    expect(parsed.data.hosts[0]?.ports[0]?.state).toBe("open")
    expect(parsed.summary).toContain("18080/tcp open")
  })
})

describe("nmap argument expansion", () => {
  const scoped = (category: string) => scopedCategories.get(category)!.expression

  it("turns categories into scoped expressions, keeps script names, and moves --script last", () => {
    expect(nmapSpec.expand?.(["-sV", "--script", "safe,http-title", "-p", "80"])).toEqual([
      "-sV",
      "-p",
      "80",
      "--script",
      `${scoped("safe")} or http-title`
    ])
    expect(nmapSpec.expand?.(["--script", "http-title,ssl-cert"])).toEqual(["--script", "http-title,ssl-cert"])
    expect(nmapSpec.expand?.(["-sT", "-p", "22"])).toEqual(["-sT", "-p", "22"])
  })

  it("runs -sC and -A as the scoped default category, merged with any --script", () => {
    expect(nmapSpec.expand?.(["-sV", "-sC"])).toEqual(["-sV", "--script", scoped("default")])
    expect(nmapSpec.expand?.(["-sC", "--script", "ssl-cert"])).toEqual(["--script", `${scoped("default")} or ssl-cert`])
    expect(nmapSpec.expand?.(["-A"])).toEqual(["-sV", "-O", "--traceroute", "--script", scoped("default")])
  })

  it("adds -6 for an IPv6 target, which callers cannot pass themselves", () => {
    expect(nmapSpec.target.toArgs("::1", "::1")).toEqual(["-6", "::1"])
    expect(nmapSpec.target.toArgs("127.0.0.1", "127.0.0.1")).toEqual(["127.0.0.1"])
  })
})
