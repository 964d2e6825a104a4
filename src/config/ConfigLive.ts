import { FileSystem } from "@effect/platform"
import { Duration, Effect, Either, Layer, SubscriptionRef } from "effect"
import { ConfigInvalid } from "../errors.js"
import { Events } from "../events/Events.js"
import { ConfigService } from "./ConfigService.js"
import { changedPaths, type EngagementFiles, engagementsDirOf, isEngagementFile, loadConfig, type Loaded } from "./load.js"
import { checkConfigPermissions } from "./permissions.js"
import { type AppConfig, restartRequired } from "./schema.js"
import { semanticProblems } from "./semantics.js"

export interface ConfigSource {
  /** Config file path; `undefined` means embedded defaults plus environment. */
  readonly file: string | undefined
  readonly env: Readonly<Record<string, string | undefined>>
}

const readText = (source: ConfigSource) =>
  source.file === undefined
    ? Effect.succeed(undefined)
    : Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFileString(source.file!)).pipe(
      Effect.mapError((error) =>
        new ConfigInvalid({ source: source.file!, message: `cannot read ${source.file}`, issues: [error.message] })
      ),
      Effect.zipLeft(checkConfigPermissions(source.file, source.env))
    )

/**
 * The files of `engagements_dir`, each trusted like the config file (only
 * its owner may change it, nor its directory), since they decide what may
 * be scanned too.
 */
const readEngagementFiles = (dir: string, env: ConfigSource["env"]) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const names = (yield* fs.readDirectory(dir)).filter(isEngagementFile).sort()
    const files = yield* Effect.forEach(names, (name) =>
      fs.readFileString(`${dir}/${name}`).pipe(
        Effect.zipLeft(checkConfigPermissions(`${dir}/${name}`, env)),
        Effect.map((text) => ({ name, text }))
      ))
    return { dir, files } satisfies EngagementFiles
  }).pipe(
    Effect.mapError((error) =>
      error instanceof ConfigInvalid
        ? error
        : new ConfigInvalid({ source: dir, message: `cannot read engagements_dir ${dir}`, issues: [error.message] })
    )
  )

/** What a configuration is loaded from: the config file's text and the files of its engagements_dir. */
interface Sources {
  readonly text: string | undefined
  readonly engagements: EngagementFiles | undefined
  /** The configuration loaded to find `engagements_dir`: already the whole one when there is no such directory. */
  readonly withoutEngagementFiles: Either.Either<Loaded, ConfigInvalid>
}

const loadOptions = (source: ConfigSource, text: string | undefined) => ({
  fileText: text,
  fileSource: source.file ?? "defaults",
  env: source.env
})

const readSources = (source: ConfigSource) =>
  Effect.gen(function*() {
    const text = yield* readText(source)
    const withoutEngagementFiles = loadConfig(loadOptions(source, text))
    const dir = engagementsDirOf(withoutEngagementFiles, source.file, process.cwd())
    const engagements = dir === undefined ? undefined : yield* readEngagementFiles(dir, source.env)
    return { text, engagements, withoutEngagementFiles } satisfies Sources
  })

/** Tells whether any source changed: the file's text alone, or with every engagement file's name and text. */
const fingerprint = (sources: Sources): string | undefined =>
  sources.engagements === undefined ? sources.text : `${sources.text ?? ""}\u0000${JSON.stringify(sources.engagements)}`

const loadText = (source: ConfigSource, sources: Sources) =>
  Effect.gen(function*() {
    const loaded = yield* (sources.engagements === undefined
      ? sources.withoutEngagementFiles
      : loadConfig({ ...loadOptions(source, sources.text), engagementFiles: sources.engagements }))
    const problems = semanticProblems(loaded.config)
    if (problems.length > 0) {
      return yield* new ConfigInvalid({ source: source.file ?? "environment", message: "configuration is inconsistent", issues: problems })
    }
    return loaded
  })

/** The configuration as loaded at start-up, with the text it came from (so a reload can tell whether a source changed). */
export interface LoadedConfig {
  readonly config: AppConfig
  /** The config file's text, followed by the engagement files' when there are any. */
  readonly text: string | undefined
  /** The warnings logged while loading it, so a reload does not log them again. */
  readonly warnings?: ReadonlyArray<string>
}

/**
 * Logs the warnings not logged before (`logged` remembers them): the
 * environment does not change between reloads, so its warnings (an unknown
 * MCP_* variable, a clamped value) are logged once, not on every reload.
 */
const logNewWarnings = (loaded: Loaded, logged: Set<string>) =>
  Effect.forEach(
    loaded.warnings.filter((w) => !logged.has(w)),
    (w) => Effect.sync(() => logged.add(w)).pipe(Effect.zipRight(Effect.logWarning(`config: ${w}`))),
    { discard: true }
  )

/**
 * Loads and validates the configuration once, logging its warnings; start-up
 * fails with `ConfigInvalid` when it is unusable. The result is what
 * `ConfigLive` starts from, so nothing is loaded or logged twice.
 */
export const loadOnce = (source: ConfigSource) =>
  Effect.gen(function*() {
    const sources = yield* readSources(source)
    const loaded = yield* loadText(source, sources)
    yield* logNewWarnings(loaded, new Set())
    return { config: loaded.config, text: fingerprint(sources), warnings: loaded.warnings } satisfies LoadedConfig
  })

/**
 * The live configuration: starts from what `loadOnce` loaded, then the file
 * is polled and a valid change is applied without a restart. Polling (rather
 * than inotify) follows atomic renames and Kubernetes ConfigMap symlink swaps
 * reliably. An invalid change is rejected, logged and published; the
 * previous configuration stays in force. A file that changed between the
 * load and this layer's start is picked up by the first poll.
 */
export const ConfigLive = (source: ConfigSource, initial: LoadedConfig) =>
  Layer.scoped(
    ConfigService,
    Effect.gen(function*() {
      const events = yield* Events
      const ref = yield* SubscriptionRef.make<AppConfig>(initial.config)
      /** The ref's value, for `current`: set right after the ref, in the one place that sets it. */
      let latest = initial.config
      let lastText = initial.text
      const logged = new Set(initial.warnings ?? [])

      // Only changed sources are parsed; unreadable ones count as unchanged until they read again.
      const check = Effect.gen(function*() {
        const read = yield* readSources(source).pipe(Effect.either)
        const text = Either.isLeft(read) ? undefined : fingerprint(read.right)
        if (text === lastText) return
        lastText = text
        const next = Either.isLeft(read) ? Either.left(read.left) : yield* loadText(source, read.right).pipe(Effect.either)
        if (Either.isLeft(next)) {
          const error = next.left
          yield* Effect.logError(`config: reload rejected, keeping the previous configuration: ${error.message}`).pipe(
            Effect.annotateLogs({ issues: error.issues.join("; ") })
          )
          yield* events.publish({ type: "config.rejected", message: error.message, issues: error.issues })
          return
        }
        const loaded = next.right
        const before = yield* SubscriptionRef.get(ref)
        const changed = changedPaths(before, loaded.config)
        if (changed.length === 0) return
        yield* logNewWarnings(loaded, logged)
        const needsRestart = changed.filter((path) => restartRequired.some((r) => path === r || path.startsWith(`${r}.`)))
        yield* SubscriptionRef.set(ref, loaded.config)
        latest = loaded.config
        yield* Effect.logInfo(`config: reloaded ${source.file}`).pipe(Effect.annotateLogs({ changed: changed.join(",") }))
        if (needsRestart.length > 0) {
          yield* Effect.logWarning(`config: ${needsRestart.join(", ")} changed but apply only after a restart`)
        }
        yield* events.publish({ type: "config.reloaded", changed, restartRequired: needsRestart })
      })

      if (source.file !== undefined) {
        const interval = SubscriptionRef.get(ref).pipe(
          Effect.map((config) => Duration.seconds(config.server.config_watch_interval))
        )
        yield* Effect.forkScoped(
          Effect.forever(
            interval.pipe(
              Effect.flatMap(Effect.sleep),
              Effect.zipRight(check),
              Effect.catchAllCause((cause) => Effect.logError("config: reload check failed", cause))
            )
          )
        )
      }

      return { get: SubscriptionRef.get(ref), current: () => latest, changes: ref.changes }
    })
  )
