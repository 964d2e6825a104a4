import { useMemo, useState } from "preact/hooks"
import type { NmapRun } from "../../tools/nmap/result.js"
import { FilterInput } from "./FilterInput.js"
import { Head } from "./Head.js"
import { cellKey, hostsWithoutPorts, matchesFilter, portMatrix, type PortRow, portRows } from "./model.js"

/**
 * The hosts × ports view of one scan result (`ScanRecord.structured` of
 * nmap or masscan, or a NmapTool call's `structuredContent.structured`):
 * a filter, the matrix (a cell per host and port with the port's state) and
 * the table of ports with services, versions and script findings.
 */
export interface PortTableProps {
  readonly run: NmapRun
  /** Prefix of element ids, so two tables on one page keep unique ids and labels. */
  readonly idPrefix?: string
  readonly initialFilter?: string
  /** Show the matrix above the table (default true); the table alone is more compact. */
  readonly matrix?: boolean
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`

const STATE_MARK: Readonly<Record<string, string>> = { open: "O", closed: "C", filtered: "F", "open|filtered": "O|F", unfiltered: "U" }

export function PortTable({ idPrefix = "ports", initialFilter = "", matrix = true, run }: PortTableProps) {
  const [filter, setFilter] = useState(initialFilter)
  const rows = useMemo(() => portRows(run), [run])
  const shown = useMemo(() => rows.filter((row) => matchesFilter(row, filter)), [rows, filter])
  const empty = hostsWithoutPorts(run)
  return (
    <section class="port-table" aria-label="Hosts and ports">
      <FilterInput
        id={`${idPrefix}-filter`}
        label="Filter hosts and ports"
        value={filter}
        onInput={setFilter}
        placeholder="e.g. 443, ssh, state:open"
      />
      <p class="count" role="status">
        {shown.length} of {plural(rows.length, "port")} on {plural(new Set(rows.map((row) => row.host)).size, "host")}
        {empty.length > 0 ? `; ${plural(empty.length, "host")} without listed ports` : ""}
      </p>
      {matrix && shown.length > 0 ? <Matrix rows={shown} /> : null}
      <PortList rows={shown} />
      {empty.length > 0 && filter.trim() === "" ? <QuietHosts hosts={empty} /> : null}
    </section>
  )
}

function Matrix({ rows }: { readonly rows: ReadonlyArray<PortRow> }) {
  const m = portMatrix(rows)
  return (
    <div class="scroll" tabIndex={0} role="region" aria-label="Port matrix">
      <table class="matrix">
        <caption>Port state by host (O open, C closed, F filtered)</caption>
        <thead>
          <tr>
            <th scope="col">Host</th>
            {m.ports.map((port) => <th scope="col" key={port}>{port}</th>)}
          </tr>
        </thead>
        <tbody>
          {m.hosts.map((host) => (
            <tr key={host.address}>
              <th scope="row">{host.address}{host.hostname === "" ? "" : ` (${host.hostname})`}</th>
              {m.ports.map((port) => {
                const state = m.cells.get(cellKey(host.address, port))
                return (
                  <td
                    key={port}
                    class={state === undefined ? "cell" : `cell state-${state.replace("|", "-")}`}
                    title={state ?? "not listed"}
                  >
                    {state === undefined ? "" : STATE_MARK[state] ?? state}
                  </td>
                )
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

function PortList({ rows }: { readonly rows: ReadonlyArray<PortRow> }) {
  return (
    <div class="scroll">
      <table class="ports">
        <caption>Ports, services and script findings</caption>
        <Head columns={["Host", "Port", "State", "Service", "Version", "Scripts"]} />
        <tbody>
          {rows.map((row) => (
            <tr key={cellKey(row.host, row.port)} class={`state-${row.state.replace("|", "-")}`}>
              <td>{row.host}</td>
              <td>{row.port}</td>
              <td>{row.state}</td>
              <td>{row.service}</td>
              <td>{row.version}</td>
              <td>{row.scripts.map((script) => <Finding key={script.id} id={script.id} output={script.output} />)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

function Finding({ id, output }: { readonly id: string; readonly output: string }) {
  return (
    <details class="finding">
      <summary>{id}</summary>
      <pre>{output}</pre>
    </details>
  )
}

function QuietHosts({ hosts }: { readonly hosts: ReadonlyArray<{ readonly address: string; readonly state: string }> }) {
  return (
    <p class="quiet-hosts">
      Without listed ports: {hosts.map((host) => `${host.address} (${host.state})`).join(", ")}
    </p>
  )
}
