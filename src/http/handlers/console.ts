import { HttpApiBuilder, type HttpServerRequest } from "@effect/platform"
import { Effect } from "effect"
import { Console } from "../api/Console.js"
import { apiOf } from "../api/group.js"
import { type ConsoleFileName, loadConsole, serveConsoleFile } from "../console.js"

export const ConsoleLive = HttpApiBuilder.group(apiOf(Console), "console", (handlers) =>
  Effect.sync(() => {
    const files = loadConsole()
    const serve = (name: ConsoleFileName) => ({ request }: { readonly request: HttpServerRequest.HttpServerRequest }) =>
      serveConsoleFile(files, name, request.headers["if-none-match"])
    return handlers.handle("page", serve("page")).handle("script", serve("script")).handle("style", serve("style"))
  }))
