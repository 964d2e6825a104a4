import { Clock, Effect, Random, Ref } from "effect"

/**
 * ULIDs (https://github.com/ulid/spec): 48 bits of milliseconds and 80 random
 * bits in Crockford base32, so ids sort by creation time as text. Ids made by
 * one generator are strictly increasing even within a millisecond or when the
 * wall clock steps back: the random part of the previous id is incremented.
 */

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
const TIME_DIGITS = 10
const RANDOM_DIGITS = 16
const MAX_TIME = 2 ** 48 - 1

export const ULID_PATTERN = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/

export const isUlid = (text: string): boolean => ULID_PATTERN.test(text)

export interface UlidState {
  readonly millis: number
  /** Base32 digits (0–31), most significant first. */
  readonly random: ReadonlyArray<number>
}

/** The random part plus one, or `undefined` when every digit is already 31. */
const increment = (digits: ReadonlyArray<number>): ReadonlyArray<number> | undefined => {
  const out = [...digits]
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i]! < 31) {
      out[i] = out[i]! + 1
      return out
    }
    out[i] = 0
  }
  return undefined
}

/** The state after `previous` at wall-clock `now`, using `fresh` random digits when time moved forward. */
export const nextState = (previous: UlidState | undefined, now: number, fresh: ReadonlyArray<number>): UlidState => {
  if (previous === undefined || now > previous.millis) return { millis: Math.min(now, MAX_TIME), random: fresh }
  const random = increment(previous.random)
  return random === undefined ? { millis: previous.millis + 1, random: fresh } : { millis: previous.millis, random }
}

export const encode = (state: UlidState): string => {
  let time = ""
  let rest = state.millis
  for (let i = 0; i < TIME_DIGITS; i++) {
    time = ALPHABET[rest % 32]! + time
    rest = Math.floor(rest / 32)
  }
  return time + state.random.map((d) => ALPHABET[d]!).join("")
}

/** The creation time encoded in a ULID, in milliseconds since the epoch. */
export const ulidMillis = (id: string): number => [...id.slice(0, TIME_DIGITS)].reduce((acc, ch) => acc * 32 + ALPHABET.indexOf(ch), 0)

/** A monotonic ULID generator reading time from `Clock` and randomness from `Random`. */
export const makeUlidGenerator: Effect.Effect<Effect.Effect<string>> = Effect.map(
  Ref.make<UlidState | undefined>(undefined),
  (ref) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const fresh = yield* Effect.all(Array.from({ length: RANDOM_DIGITS }, () => Random.nextIntBetween(0, 32)))
      return yield* Ref.modify(ref, (previous) => {
        const state = nextState(previous, now, fresh)
        return [encode(state), state]
      })
    })
)
