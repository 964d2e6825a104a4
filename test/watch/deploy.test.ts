import { describe, expect, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { parse } from "yaml"

/**
 * The scale-out overlay (config/deploy/kubernetes-scale-out): several
 * replicas on the PostgreSQL URL from a Secret, rolling updates, a readiness
 * probe on /health (503 while draining) quick enough to take a stopping pod
 * out before it stops, and no ReadWriteOnce claim shared between replicas.
 */

const read = (file: string) => parse(readFileSync(new URL(`../../config/deploy/kubernetes-scale-out/${file}`, import.meta.url), "utf8"))

describe("config/deploy/kubernetes-scale-out", () => {
  const kustomization = read("kustomization.yaml")
  const patch = read("deployment-patch.yaml")
  const container = patch.spec.template.spec.containers[0]

  it("builds on the base and adds a disruption budget", () => {
    expect(kustomization.resources).toEqual(["../kubernetes", "poddisruptionbudget.yaml"])
    expect(read("poddisruptionbudget.yaml").spec.minAvailable).toBeGreaterThanOrEqual(1)
  })

  it("runs at least two replicas, rolling, on the PostgreSQL URL from a Secret", () => {
    expect(patch.spec.replicas).toBeGreaterThanOrEqual(2)
    expect(patch.spec.strategy.type).toBe("RollingUpdate")
    const url = container.env.find((e: any) => e.name === "MCP_STORAGE_URL")
    expect(url.valueFrom.secretKeyRef).toEqual({ name: "security-mcp-server-postgres", key: "url" })
  })

  it("is taken out of the Service as soon as it drains, before it stops", () => {
    expect(container.readinessProbe.httpGet).toEqual({ path: "/health", port: "http" })
    expect(container.readinessProbe.failureThreshold).toBe(1)
    const pause = container.lifecycle.preStop.exec.command
    expect(pause[0]).toBe("node")
    // The pause outlasts a few readiness periods.
    expect(Number(/setTimeout\(\(\) => \{\}, (\d+)\)/.exec(pause[2])![1]) / 1000).toBeGreaterThan(
      container.readinessProbe.periodSeconds * 2
    )
  })

  it("keeps no ReadWriteOnce claim: each pod's audit file is its own", () => {
    const audit = patch.spec.template.spec.volumes.find((v: any) => v.name === "audit")
    expect(audit.persistentVolumeClaim).toBeNull()
    expect(audit.emptyDir).toBeDefined()
    expect(kustomization.patches.some((p: any) => String(p.patch ?? "").includes("kind: PersistentVolumeClaim"))).toBe(true)
  })
})
