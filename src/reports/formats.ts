import { Schema } from "effect"

/** The forms a report or an export is served in, with the media types they are sent as. */

export const ReportFormat = Schema.Literal("md", "html")
export type ReportFormat = typeof ReportFormat.Type

export const ExportFormat = Schema.Literal("json", "csv")
export type ExportFormat = typeof ExportFormat.Type

export const MEDIA_TYPES: { readonly [F in ReportFormat | ExportFormat]: string } = {
  md: "text/markdown; charset=utf-8",
  html: "text/html; charset=utf-8",
  json: "application/json",
  csv: "text/csv; charset=utf-8"
}

/** A report or export ready to send: its text, media type and a file name safe in a Content-Disposition header. */
export interface Rendered {
  readonly body: string
  readonly format: ReportFormat | ExportFormat
  readonly mediaType: string
  readonly filename: string
}

/** Only letters, digits, dot, dash and underscore: a target such as `127.0.0.0/24` becomes `127.0.0.0_24`. */
export const fileStem = (text: string): string => text.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 100)

export const rendered = (body: string, format: ReportFormat | ExportFormat, stem: string): Rendered => ({
  body,
  format,
  mediaType: MEDIA_TYPES[format],
  filename: `${fileStem(stem)}.${format}`
})
