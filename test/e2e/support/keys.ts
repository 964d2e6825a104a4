import { createHash, randomBytes } from "node:crypto"

/** A fresh API key and the SHA-256 the server's configuration names it by. */
export const newKey = (): { readonly key: string; readonly sha256: string } => {
  const key = randomBytes(24).toString("base64url")
  return { key, sha256: createHash("sha256").update(key, "utf8").digest("hex") }
}
