/** The project's workflow states: admins add, rename, recategorise, reorder and delete them
 * (deleting one that items are in asks where they go); everyone else sees the list. Every
 * change is a command to the server; the list shows what the server confirmed, live. */
import { useState } from "preact/hooks";
import type { WorkflowState } from "../gen/pm_pb";
import { CATEGORY_LABELS, TEXT } from "../messages";
import type { Board } from "../state/board";
import type { Pool } from "../state/pool";
import { orderedStates, placeAfter } from "../state/views";

export function StatesView({ board, pool, isAdmin }: { board: Board; pool: Pool; isAdmin: boolean }) {
  const [name, setName] = useState("");
  const [category, setCategory] = useState("started");
  const [deleting, setDeleting] = useState<WorkflowState | null>(null);
  const states = orderedStates(pool);
  const projectId = pool.project.id;
  return (
    <div class="states">
      <h2>Workflow states</h2>
      <p class="muted">{TEXT.statesHelp}</p>
      <table>
        <thead>
          <tr><th>Name</th><th>Key</th><th>Category</th>{isAdmin && <th />}</tr>
        </thead>
        <tbody>
          {states.map((state, index) => (
            <tr key={state.id}>
              <td>
                <span class="state-swatch" style={{ background: state.colour }} />{" "}
                {isAdmin ? <RenameField board={board} state={state} /> : state.name}
              </td>
              <td class="muted">{state.key}</td>
              <td>
                {isAdmin ? (
                  <select
                    aria-label={`Category of ${state.name}`}
                    value={state.category}
                    onChange={(e) => void board.command("updateState", { stateId: state.id, expectedVersion: state.version, category: (e.target as HTMLSelectElement).value })}
                  >
                    {Object.entries(CATEGORY_LABELS).map(([value, label]) => <option key={value} value={value}>{label}</option>)}
                  </select>
                ) : (
                  CATEGORY_LABELS[state.category] ?? state.category
                )}
              </td>
              {isAdmin && (
                <td class="row-actions">
                  <button type="button" class="ghost" aria-label={`Move ${state.name} up`} disabled={index === 0} onClick={() => void board.command("updateState", { stateId: state.id, expectedVersion: state.version, ...placeAfter(states, index - 2) })}>
                    ↑
                  </button>
                  <button type="button" class="ghost" aria-label={`Move ${state.name} down`} disabled={index === states.length - 1} onClick={() => void board.command("updateState", { stateId: state.id, expectedVersion: state.version, afterId: states[index + 1]!.id })}>
                    ↓
                  </button>
                  <button type="button" class="ghost danger" aria-label={`Delete ${state.name}`} onClick={() => setDeleting(state)}>
                    Delete
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {isAdmin && (
        <form
          class="inline-create"
          onSubmit={(e) => {
            e.preventDefault();
            if (!name.trim()) return;
            void board.command("createState", { projectId, name: name.trim(), category });
            setName("");
          }}
        >
          <input aria-label="New state name" placeholder="State name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          <select aria-label="New state category" value={category} onChange={(e) => setCategory((e.target as HTMLSelectElement).value)}>
            {Object.entries(CATEGORY_LABELS).map(([value, label]) => <option key={value} value={value}>{label}</option>)}
          </select>
          <button type="submit">Add state</button>
        </form>
      )}
      {deleting && <DeleteState board={board} pool={pool} state={deleting} onDone={() => setDeleting(null)} />}
    </div>
  );
}

function RenameField({ board, state }: { board: Board; state: WorkflowState }) {
  const [draft, setDraft] = useState(state.name);
  const save = () => {
    const name = draft.trim();
    if (name && name !== state.name) void board.command("updateState", { stateId: state.id, expectedVersion: state.version, name });
    else setDraft(state.name);
  };
  return (
    <input
      aria-label={`Name of ${state.name}`}
      value={draft}
      onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
      onBlur={save}
      onKeyDown={(e) => e.key === "Enter" && save()}
    />
  );
}

/** Deleting a state asks where its items go (the server refuses without, if it has any). */
function DeleteState({ board, pool, state, onDone }: { board: Board; pool: Pool; state: WorkflowState; onDone: () => void }) {
  const others = orderedStates(pool).filter((s) => s.id !== state.id);
  const [target, setTarget] = useState(others[0]?.key ?? "");
  const count = [...pool.items.values()].filter((i) => i.status === state.key).length;
  return (
    <div class="overlay">
      <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="delete-state-title">
        <h2 id="delete-state-title">{TEXT.deleteStateTitle(state.name)}</h2>
        <p>{TEXT.deleteStateItems(count)}</p>
        <label>
          {TEXT.deleteStateMoveTo}
          <select aria-label="Move its items to" value={target} onChange={(e) => setTarget((e.target as HTMLSelectElement).value)}>
            {others.map((s) => <option key={s.id} value={s.key}>{s.name}</option>)}
          </select>
        </label>
        <div class="form-actions">
          <button type="button" class="danger" onClick={() => void board.command("deleteState", { stateId: state.id, expectedVersion: state.version, moveItemsTo: target }).then(onDone)}>
            Delete state
          </button>
          <button type="button" class="ghost" onClick={onDone}>
            Keep it
          </button>
        </div>
      </div>
    </div>
  );
}
