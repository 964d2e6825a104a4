import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import { parseTarget } from "../../src/policy/targets.js"
import { canonicalUrlTarget, checkUrlTarget, parseUrlTarget, urlTargetHost } from "../../src/tools/urlTarget.js"

const ruleOf = (target: string) => {
  const result = checkUrlTarget(target)
  return Either.isLeft(result) ? result.left.rule : `accepted:${canonicalUrlTarget(result.right)}`
}

describe("item 7: URL targets are judged by the host as written", () => {
  it.each([
    ["http://0x7f.1/", "non_canonical_ip"],
    ["http://127.1/", "non_canonical_ip"],
    ["http://2130706433/", "non_canonical_ip"],
    ["http://0177.0.0.1/", "non_canonical_ip"],
    ["http://127.000.000.001/", "non_canonical_ip"],
    ["0x7f000001:8080", "non_canonical_ip"],
    ["http://ex%61mple.lab.internal/", "forbidden_character"],
    ["http://127.0.0.1%2f@8.8.8.8/", "url_not_allowed"],
    ["http://web\u200b.lab.internal/", "forbidden_character"],
    ["http://web.lab.internal\u200d/", "forbidden_character"],
    ["http://web\u00ad.lab.internal/", "forbidden_character"],
    ["http://b\u00fccher.lab.internal/", "forbidden_character"],
    ["http://\uff11\uff12\uff17.0.0.1/", "forbidden_character"],
    ["http://127\u30020.0.1/", "forbidden_character"],
    ["http://l\u043ecalhost/", "forbidden_character"],
    ["http://127.0.0.1\\@8.8.8.8/", "forbidden_character"],
    ["http:\\\\127.0.0.1\\", "forbidden_character"],
    ["http://127.0.0.1/#x", "forbidden_character"],
    ["http://127.0.0.1@8.8.8.8/", "url_not_allowed"],
    ["http://user:pw@10.0.0.5/", "url_not_allowed"],
    ["ftp://10.0.0.5/", "url_not_allowed"],
    ["file:///etc/passwd", "url_not_allowed"],
    ["http://web.lab.internal./", "invalid_hostname"],
    ["http://127.0.0.1:080/", "invalid_port"],
    ["http://127.0.0.1:0/", "invalid_port"],
    ["http://127.0.0.1:65536/", "invalid_port"],
    ["http://127.0.0.1:/", "invalid_port"],
    ["http://127.0.0.1:8o/", "invalid_port"],
    ["http://[::1%25eth0]/", "forbidden_character"],
    ["http://::1/", "invalid_url"],
    ["http://[::1/", "invalid_url"],
    ["http://10.0.0.0/24", "accepted:http://10.0.0.0:80/24"],
    ["http://10.0.0.5 /", "forbidden_character"],
    ["http://10.0.0.5\n/", "forbidden_character"],
    ["http:///x", "invalid_url"],
    ["http://-x.lab.internal/", "option_injection"]
  ])("%j is refused (%s)", (target, rule) => {
    expect(ruleOf(target)).toBe(rule)
    if (!rule.startsWith("accepted")) {
      expect(parseUrlTarget(target)).toBeUndefined()
      expect(urlTargetHost(target)).toBeUndefined()
    }
  })

  it.each([
    ["web.lab.internal", "http://web.lab.internal:80/"],
    ["WEB.Lab.Internal:8080/a/../b?q=1", "http://web.lab.internal:8080/b?q=1"],
    ["HTTPS://10.0.0.5", "https://10.0.0.5:443/"],
    ["https://[FD00::5]:8443/x", "https://[fd00::5]:8443/x"],
    ["http://xn--bcher-kva.lab.internal/", "http://xn--bcher-kva.lab.internal:80/"],
    ["http://10.0.0.5/%7euser", "http://10.0.0.5:80/%7euser"]
  ])("%j is accepted and audited as %j", (target, canonical) => {
    expect(ruleOf(target)).toBe(`accepted:${canonical}`)
  })

  it.prop("the host a URL target yields is one the strict target parser accepts as written", [fc.webUrl()], ([url]) => {
    const host = urlTargetHost(url)
    if (host !== undefined) {
      const authority = url.replace(/^[a-z]+:\/\//i, "").split(/[/?#]/)[0]!
      const written = authority.startsWith("[") ? authority.slice(1, authority.indexOf("]")) : authority.split(":")[0]!
      const parsed = parseTarget(written)
      expect(Either.isRight(parsed) && parsed.right.text).toBe(host)
    }
  })
})
