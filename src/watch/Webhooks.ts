import { Clock, Context, Duration, Effect, Either, Layer, Option, Redacted, Schedule, Schema } from "effect"
import { createHmac } from "node:crypto"
import { lookup } from "node:dns/promises"
import { ConfigService } from "../config/ConfigService.js"
import type { WebhookConfig } from "../config/watch.js"
import type { StoreUnavailable } from "../storage/errors.js"
import type { Redelivery } from "../storage/ScheduleRecord.js"
import { ScheduleStore } from "../storage/ScheduleStore.js"
import { makeUlidGenerator } from "../storage/ulid.js"
import type { ChangeAlert } from "./alerts.js"
import { checkResolved, checkUrl } from "./egress.js"
import { DeadLetterNotFound } from "./errors.js"

/**
 * Change alerts POSTed to the operator's webhooks: JSON, signed with the
 * webhook's secret over the timestamp and the body, retried with doubling
 * delays, and kept as a dead letter in the store when every attempt failed.
 * A receiver verifies `X-Signature-256: t=<unix seconds>,v1=<hex>` by
 * computing HMAC-SHA256(secret, "<t>.<raw body>") and comparing, and
 * rejects old timestamps; `X-Alert-Id` is the same in every retry, so a
 * receiver can drop a delivery it already has.
 */

export const SIGNATURE_HEADER = "x-signature-256"

export const signature = (secret: string, timestamp: number, body: string): string =>
  createHmac("sha256", secret).update(`${timestamp}.${body}`, "utf8").digest("hex")

export const signatureHeader = (secret: string, timestamp: number, body: string): string =>
  `t=${timestamp},v1=${signature(secret, timestamp, body)}`

export interface Delivery {
  readonly webhook: string
  readonly delivered: boolean
  readonly attempts: number
  readonly error: string | null
}

export interface WebhooksService {
  /** Delivers `alert` to the webhook `name`, retrying; a delivery that failed every attempt is stored as a dead letter. */
  readonly deliver: (name: string, alert: ChangeAlert) => Effect.Effect<Delivery>
  /**
   * Tries a dead letter's delivery once more, now, with a fresh signature and
   * the alert's own id (a receiver that has it drops it): removed when it is
   * delivered, kept with one more attempt when not.
   */
  readonly redeliver: (id: string) => Effect.Effect<Redelivery, DeadLetterNotFound | StoreUnavailable>
}

class DeliveryFailed {
  readonly _tag = "DeliveryFailed"
  constructor(readonly message: string, readonly permanent: boolean) {}
}

/**
 * Refuses a destination outside the egress list before anything is sent
 * (also after a configuration change); a listed name's checked addresses are
 * the only ones the POST may connect to.
 */
const checkDestination = (
  hook: WebhookConfig,
  egress: ReadonlyArray<string>
): Effect.Effect<ReadonlyArray<string> | undefined, DeliveryFailed> =>
  Effect.gen(function*() {
    const destination = checkUrl(hook.url, egress)
    if (Either.isLeft(destination)) return yield* Effect.fail(new DeliveryFailed(`refused: ${destination.left}`, true))
    if (destination.right._tag === "name") {
      const host = destination.right.host
      const resolved = yield* Effect.tryPromise({
        try: () => lookup(host, { all: true }),
        catch: () => new DeliveryFailed(`${host} did not resolve`, false)
      })
      const addresses = resolved.map((r) => r.address)
      const checked = checkResolved(host, addresses, egress)
      if (Either.isLeft(checked)) return yield* Effect.fail(new DeliveryFailed(`refused: ${checked.left}`, true))
      return addresses
    }
    return undefined
  })

const post = (
  hook: WebhookConfig,
  addresses: ReadonlyArray<string> | undefined,
  alert: Pick<ChangeAlert, "alert_id">,
  body: string
) =>
  Effect.gen(function*() {
    const timestamp = Math.floor((yield* Clock.currentTimeMillis) / 1000)
    const status = yield* Effect.tryPromise({
      try: (signal) =>
        import("./pinnedPost.js").then(({ postPinned }) =>
          postPinned({
            url: hook.url,
            addresses,
            body,
            signal,
            headers: {
              "content-type": "application/json",
              "user-agent": "security-mcp-server-webhook",
              "x-alert-id": alert.alert_id,
              "x-webhook-timestamp": String(timestamp),
              [SIGNATURE_HEADER]: signatureHeader(Redacted.value(hook.secret), timestamp, body)
            }
          })
        ),
      catch: (error) => new DeliveryFailed(`request failed: ${error instanceof Error ? error.message : String(error)}`, false)
    }).pipe(
      Effect.timeoutFail({
        duration: Duration.seconds(hook.timeout),
        onTimeout: () => new DeliveryFailed(`no answer within ${hook.timeout} s`, false)
      })
    )
    if (status < 200 || status > 299) {
      return yield* Effect.fail(new DeliveryFailed(`the receiver answered HTTP ${status}`, false))
    }
  })

const decodeAlertId = Schema.decodeUnknownOption(Schema.parseJson(Schema.Struct({ alert_id: Schema.String })))

export class Webhooks extends Context.Tag("security-mcp/Webhooks")<Webhooks, WebhooksService>() {
  static readonly layer: Layer.Layer<Webhooks, never, ConfigService | ScheduleStore> = Layer.effect(
    Webhooks,
    Effect.gen(function*() {
      const config = yield* ConfigService
      const store = yield* ScheduleStore
      const nextId = yield* makeUlidGenerator
      const deliver = (name: string, alert: ChangeAlert) =>
        Effect.gen(function*() {
          const { watch } = yield* config.get
          const hook = watch.webhooks.find((w) => w.name === name)
          const body = JSON.stringify(alert)
          let attempts = 0
          const once = Effect.suspend(() => {
            attempts++
            return hook === undefined
              ? Effect.fail(new DeliveryFailed(`no webhook named ${name} in watch.webhooks`, true))
              : Effect.flatMap(checkDestination(hook, watch.webhook_egress), (addresses) => post(hook, addresses, alert, body))
          })
          const retries = Schedule.exponential(Duration.seconds(watch.webhook_backoff)).pipe(
            Schedule.intersect(Schedule.recurs(watch.webhook_retries)),
            Schedule.whileInput((e: DeliveryFailed) => !e.permanent)
          )
          const keep = (error: string) =>
            Effect.gen(function*() {
              yield* Effect.logWarning(`webhook ${name}: alert ${alert.alert_id} not delivered after ${attempts} attempts: ${error}`)
              yield* store.deadLetter({
                id: yield* nextId,
                webhook: name,
                scheduleId: alert.schedule_id,
                runId: alert.run_id,
                payload: body,
                attempts,
                lastError: error,
                nowMs: yield* Clock.currentTimeMillis
              }).pipe(Effect.catchAll((e) => Effect.logError(`webhook ${name}: dead letter not stored: ${e.message}`)))
            })
          // A server stopping between retries keeps the alert too.
          const outcome = yield* Effect.either(Effect.retry(once, retries)).pipe(
            Effect.onInterrupt(() => keep("the server stopped before the delivery succeeded"))
          )
          if (Either.isRight(outcome)) return { webhook: name, delivered: true, attempts, error: null } satisfies Delivery
          yield* keep(outcome.left.message)
          return { webhook: name, delivered: false, attempts, error: outcome.left.message } satisfies Delivery
        })
      const redeliver = (id: string) =>
        Effect.gen(function*() {
          const found = yield* store.getDeadLetter(id)
          if (Option.isNone(found)) {
            return yield* new DeadLetterNotFound({
              dead_letter_id: id,
              message:
                `no dead letter ${id}: it was delivered by a retry meanwhile, or the id is wrong (GET /webhooks/dead-letters lists them)`
            })
          }
          const letter = found.value
          const { watch } = yield* config.get
          const hook = watch.webhooks.find((w) => w.name === letter.webhook)
          const alertId = Option.match(decodeAlertId(letter.payload), { onNone: () => letter.id, onSome: (a) => a.alert_id })
          const attempt = hook === undefined
            ? Effect.fail(new DeliveryFailed(`no webhook named ${letter.webhook} in watch.webhooks`, true))
            : Effect.flatMap(checkDestination(hook, watch.webhook_egress), (addresses) =>
              post(hook, addresses, { alert_id: alertId }, letter.payload))
          const outcome = yield* Effect.either(attempt)
          if (Either.isRight(outcome)) {
            yield* store.removeDeadLetter(id)
            return { webhook: letter.webhook, delivered: true, attempts: letter.attempts + 1, error: null, dead_letter: null }
          }
          yield* store.failedAgain(id, outcome.left.message)
          const kept = Option.getOrElse(yield* store.getDeadLetter(id), () =>
            letter)
          return { webhook: letter.webhook, delivered: false, attempts: kept.attempts, error: outcome.left.message, dead_letter: kept }
        }) satisfies Effect.Effect<Redelivery, DeadLetterNotFound | StoreUnavailable>
      return { deliver, redeliver }
    })
  )
}
