/** The board's filter bar: every card, a label's, or a saved view's. The server evaluates the
 * filter with the query code of its search (what a saved view runs on), again whenever the
 * project changes; a label filter can be kept as a view of the person's own. */
import { useEffect, useState } from "preact/hooks";
import { describeError, TEXT } from "../messages";
import { RequestError } from "../protocol/connection";
import type { Board } from "../state/board";
import type { BoardFilter } from "../state/fields";
import type { Pool } from "../state/pool";

/** The ids the filter keeps (null: every card), re-evaluated on every change of the pool. */
export function useFilteredIds(board: Board, pool: Pool, filter: BoardFilter): Set<string> | null {
  const [ids, setIds] = useState<Set<string> | null>(null);
  useEffect(() => {
    if (filter.kind === "all") {
      setIds(null);
      return;
    }
    let live = true;
    void board.matchingIds(filter).then((found) => {
      if (!live) return;
      if (found instanceof RequestError) board.note(describeError({ code: found.code, message: found.detail }));
      else setIds(found);
    });
    return () => {
      live = false;
    };
  }, [filter.kind, filter.kind === "label" ? filter.labelId : filter.kind === "view" ? filter.viewId : "", pool.revision]);
  return ids;
}

function valueOf(filter: BoardFilter): string {
  if (filter.kind === "label") return `label:${filter.labelId}`;
  if (filter.kind === "view") return `view:${filter.viewId}`;
  return "";
}

function filterOf(value: string): BoardFilter {
  if (value.startsWith("label:")) return { kind: "label", labelId: value.slice(6) };
  if (value.startsWith("view:")) return { kind: "view", viewId: value.slice(5) };
  return { kind: "all" };
}

export function FilterBar({ board, pool, filter, onFilter }: {
  board: Board;
  pool: Pool;
  filter: BoardFilter;
  onFilter: (filter: BoardFilter) => void;
}) {
  const [name, setName] = useState("");
  const labels = [...pool.labels.values()].sort((a, b) => a.name.localeCompare(b.name));
  const views = [...pool.views.values()].sort((a, b) => a.name.localeCompare(b.name));
  return (
    <div class="filter-bar" role="search" aria-label={TEXT.filters.bar}>
      <label>
        {TEXT.filters.label}
        <select
          aria-label={TEXT.filters.label}
          value={filter.kind === "label" ? valueOf(filter) : ""}
          onChange={(e) => onFilter(filterOf((e.target as HTMLSelectElement).value))}
        >
          <option value="">{TEXT.filters.anyLabel}</option>
          {labels.map((l) => <option key={l.id} value={`label:${l.id}`}>{l.name}</option>)}
        </select>
      </label>
      <label>
        {TEXT.filters.view}
        <select
          aria-label={TEXT.filters.view}
          value={filter.kind === "view" ? valueOf(filter) : ""}
          onChange={(e) => onFilter(filterOf((e.target as HTMLSelectElement).value))}
        >
          <option value="">{TEXT.filters.noView}</option>
          {views.map((v) => <option key={v.id} value={`view:${v.id}`}>{v.name}</option>)}
        </select>
      </label>
      {filter.kind === "label" && (
        <form
          class="save-view"
          onSubmit={(e) => {
            e.preventDefault();
            if (!name.trim()) return;
            void board.saveLabelView(name.trim(), filter.labelId).then((viewId) => {
              if (viewId) {
                setName("");
                onFilter({ kind: "view", viewId });
              }
            });
          }}
        >
          <input
            aria-label={TEXT.filters.viewName}
            placeholder={TEXT.filters.viewName}
            value={name}
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
          />
          <button type="submit">{TEXT.filters.save}</button>
        </form>
      )}
      {filter.kind !== "all" && (
        <button type="button" class="ghost" onClick={() => onFilter({ kind: "all" })}>
          {TEXT.filters.clear}
        </button>
      )}
    </div>
  );
}
