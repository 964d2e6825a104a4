import type { AppConfig } from "../config/schema.js"

export const REDACTED = "********"

/** The effective configuration as shown to operators: key hashes are masked (a hash still allows offline guessing of weak keys). */
export const redactConfig = (config: AppConfig): AppConfig => ({
  ...config,
  auth: {
    ...config.auth,
    api_keys: config.auth.api_keys.map((key) => ({ ...key, sha256: REDACTED }))
  }
})
