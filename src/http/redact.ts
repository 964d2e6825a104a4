import { Schema } from "effect"
import { ApiKey, AppConfig, AuthConfig } from "../config/schema.js"

export const REDACTED = "********"

/** The configuration as `/config` shows it: the same, with every key hash masked. */
export const RedactedConfig = Schema.Struct({
  ...AppConfig.fields,
  auth: Schema.Struct({
    ...AuthConfig.fields,
    api_keys: Schema.Array(Schema.Struct({
      ...ApiKey.fields,
      sha256: Schema.Literal(REDACTED).annotations({ description: "Masked: a hash still allows offline guessing of weak keys" })
    }))
  })
})
export type RedactedConfig = typeof RedactedConfig.Type

/** The effective configuration as shown to operators: key hashes are masked (a hash still allows offline guessing of weak keys). */
export const redactConfig = (config: AppConfig): RedactedConfig => ({
  ...config,
  auth: {
    ...config.auth,
    api_keys: config.auth.api_keys.map((key) => ({ ...key, sha256: REDACTED }))
  }
})
