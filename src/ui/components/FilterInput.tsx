/** A labelled search box; the label is visible, so screen readers and sighted users read the same name. */
export interface FilterInputProps {
  readonly id: string
  readonly label: string
  readonly value: string
  readonly onInput: (value: string) => void
  readonly placeholder?: string
}

export function FilterInput({ id, label, onInput, placeholder, value }: FilterInputProps) {
  return (
    <div class="filter">
      <label for={id}>{label}</label>
      <input
        id={id}
        type="search"
        value={value}
        placeholder={placeholder}
        autocomplete="off"
        spellcheck={false}
        onInput={(event) => onInput(event.currentTarget.value)}
      />
    </div>
  )
}
