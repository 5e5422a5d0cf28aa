/** The board: a column of cards per workflow state of the project (in the states' order, but the
 * backlog-category ones, which are the Backlog view's); drag a card between columns or
 * within one. The drop shows at once and is confirmed or undone (with a note) by the server. */
import { memo } from "preact/compat";
import { useMemo, useState } from "preact/hooks";
import type { Label, Member, TimeEntry, WorkItem } from "../gen/pm_pb";
import { TEXT } from "../messages";
import type { Board } from "../state/board";
import type { Pool, RecentEdit } from "../state/pool";
import type { BoardFilter } from "../state/fields";
import { columns, effectiveItems, isBlocked } from "../state/views";
import { Avatar, InlineCreate, TypeBadge } from "./common";
import { FilterBar, useFilteredIds } from "./FilterBar";
import { dueLabel } from "./format";
import { useNow } from "./hooks";

const RECENT_EDIT_MS = 60_000;
/** Cards drawn per lane until the person asks for all: a lane of 400 cards is scrolled by
 * nobody, and drawing them all would make every open and every change slower. */
const LANE_LIMIT = 100;

interface CardProps {
  item: WorkItem;
  labels: Map<string, Label>;
  blocked: boolean;
  members: Map<string, Member>;
  editedBy: RecentEdit | undefined;
  timer: TimeEntry | undefined;
  draggable: boolean;
  now: number;
  onOpen: (id: string) => void;
}

const Card = memo(function Card({ item, labels, blocked, members, editedBy, timer, draggable, now, onOpen }: CardProps) {
  const recent = editedBy && now - editedBy.atMs < RECENT_EDIT_MS ? editedBy : undefined;
  return (
    <article
      class={`card${item.version === 0n ? " provisional" : ""}`}
      draggable={draggable}
      data-id={item.id}
      aria-label={item.title}
      onDragEnd={() => {
        dragging = null;
      }}
      onDragStart={(e) => {
        dragging = item.id;
        e.dataTransfer?.setData("text/plain", item.id);
        if (e.dataTransfer) e.dataTransfer.effectAllowed = "move";
      }}
      onClick={() => onOpen(item.id)}
    >
      <div class="card-top">
        <TypeBadge type={item.itemType} />
        {item.key && <span class="key">{item.key}</span>}
        {blocked && <span class="badge blocked">Blocked</span>}
        {item.storyPoints !== undefined && <span class="points" title="Story points">{item.storyPoints}</span>}
      </div>
      <div class="card-title">{item.title}</div>
      {item.labels.length > 0 && (
        <ul class="card-labels" aria-label="Labels">
          {item.labels.map((id) => {
            const label = labels.get(id);
            return label ? <li key={id} class="label-chip on" style={{ background: label.colour, borderColor: label.colour }}>{label.name}</li> : null;
          })}
        </ul>
      )}
      <div class="card-bottom">
        {item.assigneeId ? <Avatar userId={item.assigneeId} members={members} small /> : <span class="muted">Unassigned</span>}
        {item.dueDate && <span class={`badge due${item.isOverdue ? " overdue" : ""}`}>{dueLabel(item)}</span>}
        {timer && <span class="badge timer" title="Timer running">◷ {members.get(timer.userId)?.name || timer.userId}</span>}
        {recent && (
          <span class="badge editing" title={TEXT.editedBy(members.get(recent.userId)?.name || recent.userId)}>
            ✎ {members.get(recent.userId)?.name || recent.userId}
          </span>
        )}
      </div>
    </article>
  );
});

export function BoardView({ board, pool, canEdit, onOpen }: { board: Board; pool: Pool; canEdit: boolean; onOpen: (id: string) => void }) {
  const now = useNow(15_000);
  const pending = board.pending;
  const cols = useMemo(() => columns(pool, pending), [pool.revision, pending]);
  const items = useMemo(() => effectiveItems(pool, pending), [pool.revision, pending]);
  const timers = useMemo(() => {
    const byItem = new Map<string, TimeEntry>();
    for (const entry of pool.timers.values()) byItem.set(entry.workItemId, entry);
    return byItem;
  }, [pool.revision]);
  const [target, setTarget] = useState<{ lane: string; index: number } | null>(null);
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(new Set());
  const [filter, setFilter] = useState<BoardFilter>({ kind: "all" });
  const kept = useFilteredIds(board, pool, filter);

  return (
    <>
    <FilterBar board={board} pool={pool} filter={filter} onFilter={setFilter} />
    <div class="board" role="list" aria-label="Board">
      {cols.map(({ state, cards: all }) => {
        const cards = kept === null ? all : all.filter((card) => kept.has(card.id));
        const points = cards.reduce((sum, c) => sum + (c.storyPoints ?? 0), 0);
        const dropIndex = (e: DragEvent) => {
          const list = e.currentTarget as HTMLElement;
          const rows = [...list.querySelectorAll<HTMLElement>(".card")].filter((el) => el.dataset.id !== draggingId(e));
          const index = rows.findIndex((row) => {
            const box = row.getBoundingClientRect();
            return e.clientY < box.top + box.height / 2;
          });
          return index < 0 ? rows.length : index;
        };
        return (
          <section class="lane" role="listitem" aria-label={state.name} key={state.id}>
            <header class="lane-head">
              <h2>{state.name}</h2>
              <span class="count" title="Cards / points">
                {cards.length} · {points} pt
              </span>
            </header>
            <div
              class={`lane-cards${target?.lane === state.id ? " drop-target" : ""}`}
              data-lane={state.key}
              onDragOver={(e) => {
                if (!canEdit) return;
                e.preventDefault();
                const index = dropIndex(e);
                if (target?.lane !== state.id || target.index !== index) setTarget({ lane: state.id, index });
              }}
              onDragLeave={(e) => {
                if (!(e.currentTarget as HTMLElement).contains(e.relatedTarget as Node)) setTarget(null);
              }}
              onDrop={(e) => {
                e.preventDefault();
                setTarget(null);
                const id = e.dataTransfer?.getData("text/plain");
                const card = id ? items.get(id) : undefined;
                if (!canEdit || !card) return;
                void board.move(card, state.key, cards, dropIndex(e));
              }}
            >
              {cards.length === 0 && <p class="empty">{TEXT.emptyLane}</p>}
              {(expanded.has(state.id) ? cards : cards.slice(0, LANE_LIMIT)).map((card) => (
                <Card
                  key={card.id}
                  item={card}
                  labels={pool.labels}
                  blocked={isBlocked(card, pool)}
                  members={pool.members}
                  editedBy={pool.recentEdits.get(card.id)}
                  timer={timers.get(card.id)}
                  draggable={canEdit}
                  now={now}
                  onOpen={onOpen}
                />
              ))}
            </div>
            {cards.length > LANE_LIMIT && !expanded.has(state.id) && (
              <button type="button" class="ghost add" onClick={() => setExpanded(new Set([...expanded, state.id]))}>
                Show all {cards.length} cards
              </button>
            )}
            {canEdit && (
              <InlineCreate
                label="Add card"
                placeholder={`New task in ${state.name}`}
                onCreate={(title) =>
                  void board.createItem({ itemType: "task", parentId: pool.project.id, title, status: state.key })
                }
              />
            )}
          </section>
        );
      })}
    </div>
    </>
  );
}

/** The card being dragged: dataTransfer can't be read during dragover, only on drop. */
let dragging: string | null = null;
function draggingId(_e: DragEvent): string | null {
  return dragging;
}
