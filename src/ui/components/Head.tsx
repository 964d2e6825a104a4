/** A table's header row: one column header per name. */
export function Head({ columns }: { readonly columns: ReadonlyArray<string> }) {
  return (
    <thead>
      <tr>
        {columns.map((column, i) => <th scope="col" key={i}>{column}</th>)}
      </tr>
    </thead>
  )
}
