import { Effect, Layer } from "effect"
import { ConfigService } from "../config/ConfigService.js"
import { chooseBackend } from "./backend.js"
import { Database, type DatabaseOptions } from "./Database.js"
import { OperatorState } from "./OperatorState.js"
import { type RecorderOptions, ScanRecorder } from "./ScanRecorder.js"
import { ScanStore } from "./ScanStore.js"
import { ScheduleStore } from "./ScheduleStore.js"

export interface StorageOptions {
  /** The config file's path: the default store directory is data/ beside it. */
  readonly configFile: string | undefined
  /** Base of relative paths and of the default directory without a config file (default: the working directory). */
  readonly cwd?: string
  readonly database?: DatabaseOptions
  readonly recorder?: RecorderOptions
}

export type Storage = Database | ScanStore | ScanRecorder | OperatorState | ScheduleStore

/**
 * Every storage service, from the `storage` settings as they are at start-up
 * (`enabled`, `path` and `url` need a restart; the retention limits apply at
 * the next sweep). Building it never fails: a database that cannot be opened
 * is retried in the background and reported by `Database`'s health check.
 */
export const StorageLive = (options: StorageOptions): Layer.Layer<Storage, never, ConfigService> =>
  Layer.unwrapEffect(
    Effect.map(Effect.flatMap(ConfigService, (config) => config.get), ({ storage }) => {
      const database = storage.enabled
        ? Database.layer(chooseBackend(storage, options.configFile, options.cwd ?? process.cwd()), options.database)
        : Database.disabled
      // The recorder's ScanStore is the one readers get: scans whose writes are still queued are read from memory.
      const scans = ScanRecorder.layer(options.recorder).pipe(Layer.provide(ScanStore.layer))
      return Layer.mergeAll(scans, OperatorState.layer, ScheduleStore.layer).pipe(Layer.provideMerge(database))
    })
  )
