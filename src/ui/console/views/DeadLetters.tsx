import { useState } from "preact/hooks"
import type { DeadLetter } from "../../../storage/ScheduleRecord.js"
import { api } from "../api.js"
import { useAction, useInterval, usePaged } from "../hooks.js"
import { href } from "../route.js"
import { redeliveryText } from "../watchText.js"
import { ErrorBox, Pager, Show, when } from "./common.js"

/**
 * Change alerts whose webhook deliveries failed every retry (admin scope):
 * newest first, in the server's cursor pages, each one retried on demand,
 * with what the retry did announced.
 */
export function DeadLetters() {
  const { page, pages, setPages } = usePaged((p) => api.deadLetters(p.cursor), "dead-letters")
  // Alerts fail on the server's time: look again every 5 s, like the schedules above.
  useInterval(page.reload, 5_000)
  const [result, setResult] = useState<{ readonly ok: boolean; readonly text: string } | undefined>()
  const retried = (outcome: { readonly ok: boolean; readonly text: string }) => {
    setResult(outcome)
    page.reload()
  }
  return (
    <section aria-labelledby="dead-letters-heading">
      <h2 id="dead-letters-heading">Undelivered alerts (dead letters)</h2>
      <p role="status" class={result === undefined || result.ok ? undefined : "error-text"}>{result?.text ?? ""}</p>
      <Show loaded={page}>
        {(letters) =>
          letters.dead_letters.length === 0 && pages.length === 0
            ? <p>No dead letters: every change alert was delivered.</p>
            : (
              <>
                <table class="dead-letters">
                  <caption class="muted">Deliveries that failed every retry, newest first</caption>
                  <thead>
                    <tr>
                      <th scope="col">Failed</th>
                      <th scope="col">Webhook</th>
                      <th scope="col">Schedule</th>
                      <th scope="col">Attempts</th>
                      <th scope="col">Last error</th>
                      <th scope="col">Action</th>
                    </tr>
                  </thead>
                  <tbody>
                    {letters.dead_letters.map((letter) => <LetterRow key={letter.id} letter={letter} onRetried={retried} />)}
                  </tbody>
                </table>
                <Pager pages={pages} setPages={setPages} next={letters.next_cursor} />
              </>
            )}
      </Show>
    </section>
  )
}

function LetterRow(
  { letter, onRetried }: {
    readonly letter: DeadLetter
    readonly onRetried: (outcome: { readonly ok: boolean; readonly text: string }) => void
  }
) {
  const action = useAction(() => undefined)
  const retry = () =>
    void action.run(async () => {
      const result = await api.retryDeadLetter(letter.id)
      onRetried({ ok: result.delivered, text: redeliveryText(result) })
    })
  return (
    <tr data-dead-letter-id={letter.id}>
      <td>
        <time dateTime={letter.created_at}>{when(letter.created_at)}</time>
      </td>
      <td>{letter.webhook}</td>
      <td>
        <a href={href.schedule(letter.schedule_id)}>{letter.schedule_id}</a>
      </td>
      <td>{letter.attempts}</td>
      <td>{letter.last_error}</td>
      <td>
        <button type="button" disabled={action.busy} onClick={retry} aria-label={`Retry the delivery to ${letter.webhook} of ${letter.id}`}>
          Retry
        </button>
        {action.error === undefined ? null : <ErrorBox error={action.error} />}
      </td>
    </tr>
  )
}
