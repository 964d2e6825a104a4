import { storedKey } from "./api.js"

/**
 * Reports and exports as files: fetched with the key in the Authorization
 * header (a link to the route would need the key in its URL, which the
 * server refuses and proxies log), then handed to the browser's download
 * through a blob URL made in the page. The file is saved, never opened in
 * the console's origin, so an HTML report never runs next to the key.
 */

/** The file name of a Content-Disposition header (`filename="…"` or a bare token), or `fallback`; never a path. */
export const attachmentName = (header: string | null, fallback: string): string => {
  const match = header === null ? null : /filename\s*=\s*(?:"([^"]*)"|([^;\s]+))/i.exec(header)
  const name = (match?.[1] ?? match?.[2] ?? "").replace(/[/\\]/g, "_").replace(/^\.+/, "").trim()
  return name === "" ? fallback : name
}

/** Saves `blob` as `name` through a blob URL, revoked once the browser has taken it. */
export const saveBlob = (blob: Blob, name: string) => {
  const url = URL.createObjectURL(blob)
  const link = document.createElement("a")
  link.href = url
  link.download = name
  link.hidden = true
  document.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 30_000)
}

/** A failed download: the status and the server's message. */
export class DownloadFailed extends Error {}

/** GETs `path` with the key and saves the body under the server's file name (or `fallback`). */
export const download = async (path: string, fallback: string): Promise<string> => {
  const key = storedKey()
  const response = await fetch(path, {
    headers: key === null ? {} : { authorization: `Bearer ${key}` },
    credentials: "omit",
    cache: "no-store"
  })
  if (!response.ok) {
    const body = await response.json().catch(() => undefined) as { detail?: { message?: string } } | undefined
    throw new DownloadFailed(body?.detail?.message ?? `HTTP ${response.status}`)
  }
  const name = attachmentName(response.headers.get("content-disposition"), fallback)
  saveBlob(await response.blob(), name)
  return name
}
