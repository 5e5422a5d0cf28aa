/** Backlog and tree: project > epic > story > task, collapsible, with create, rename,
 * re-parent (in the item's detail) and delete (refused with the server's words while the item
 * still has children). */
import { useMemo, useState } from "preact/hooks";
import type { WorkItem } from "../gen/pm_pb";
import type { Board } from "../state/board";
import type { Pool } from "../state/pool";
import { childrenOf, effectiveItems, isBlocked, stateName } from "../state/views";
import { Avatar, InlineCreate, StatusPill, TypeBadge } from "./common";

export const CHILD_TYPES: Record<string, string[]> = {
  project: ["epic", "story", "task"],
  epic: ["story", "task"],
  story: ["task"],
  task: [],
};

export function BacklogView({ board, pool, canEdit, onOpen }: { board: Board; pool: Pool; canEdit: boolean; onOpen: (id: string) => void }) {
  const items = useMemo(() => effectiveItems(pool, board.pending), [pool.revision, board.pending]);
  const children = useMemo(() => childrenOf(items), [items]);
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const toggle = (id: string) => {
    const next = new Set(collapsed);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setCollapsed(next);
  };

  const row = (item: WorkItem, depth: number) => {
    const kids = children.get(item.id) ?? [];
    const open = !collapsed.has(item.id);
    return (
      <li key={item.id} role="treeitem" aria-expanded={kids.length ? open : undefined} aria-label={item.title}>
        <TreeRow
          board={board}
          item={item}
          depth={depth}
          hasChildren={kids.length > 0}
          open={open}
          canEdit={canEdit}
          blocked={isBlocked(item, pool)}
          pool={pool}
          onToggle={() => toggle(item.id)}
          onOpen={onOpen}
        />
        {open && kids.length > 0 && <ul role="group">{kids.map((kid) => row(kid, depth + 1))}</ul>}
      </li>
    );
  };

  const roots = children.get(pool.project.id) ?? [];
  return (
    <div class="backlog">
      <div class="backlog-head">
        <h2>{pool.project.title}</h2>
        {canEdit && (
          <div class="row-actions">
            {CHILD_TYPES.project!.map((type) => (
              <InlineCreate
                key={type}
                label={type[0]!.toUpperCase() + type.slice(1)}
                placeholder={`New ${type} title`}
                onCreate={(title) => void board.createItem({ itemType: type, parentId: pool.project.id, title })}
              />
            ))}
          </div>
        )}
      </div>
      <ul class="tree" role="tree" aria-label="Backlog">
        {roots.map((item) => row(item, 0))}
      </ul>
    </div>
  );
}

function TreeRow(props: {
  board: Board;
  item: WorkItem;
  depth: number;
  hasChildren: boolean;
  open: boolean;
  canEdit: boolean;
  blocked: boolean;
  pool: Pool;
  onToggle: () => void;
  onOpen: (id: string) => void;
}) {
  const { board, item, depth, hasChildren, open, canEdit, blocked, pool } = props;
  const [renaming, setRenaming] = useState(false);
  const [title, setTitle] = useState(item.title);
  const [adding, setAdding] = useState(false);
  const kinds = CHILD_TYPES[item.itemType] ?? [];
  return (
    <div class="tree-row" style={{ paddingLeft: `${depth * 1.25 + 0.5}rem` }}>
      {hasChildren ? (
        <button type="button" class="ghost caret" aria-label={open ? `Collapse ${item.title}` : `Expand ${item.title}`} onClick={props.onToggle}>
          {open ? "▾" : "▸"}
        </button>
      ) : (
        <span class="caret leaf" aria-hidden="true">·</span>
      )}
      <TypeBadge type={item.itemType} />
      {renaming ? (
        <form
          class="inline-create"
          onSubmit={(e) => {
            e.preventDefault();
            setRenaming(false);
            if (title.trim() && title !== item.title) void board.updateItem(item.id, item.version, { title: title.trim() });
          }}
        >
          <input autoFocus aria-label="New title" value={title} onInput={(e) => setTitle((e.target as HTMLInputElement).value)} />
          <button type="submit">Save</button>
        </form>
      ) : (
        <button type="button" class="link title" onClick={() => props.onOpen(item.id)}>
          {item.title}
        </button>
      )}
      {blocked && <span class="badge blocked">Blocked</span>}
      <StatusPill status={item.status} name={stateName(pool, item.status)} />
      {item.storyPoints !== undefined && <span class="points">{item.storyPoints}</span>}
      {item.assigneeId && <Avatar userId={item.assigneeId} members={pool.members} small />}
      {canEdit && (
        <span class="row-actions">
          {kinds.length > 0 && (
            <button type="button" class="ghost" onClick={() => setAdding(!adding)} aria-label={`Add a child to ${item.title}`}>
              + Child
            </button>
          )}
          <button
            type="button"
            class="ghost"
            onClick={() => {
              setTitle(item.title);
              setRenaming(true);
            }}
          >
            Rename
          </button>
          <button type="button" class="ghost danger" onClick={() => void board.deleteItem(item)} aria-label={`Delete ${item.title}`}>
            Delete
          </button>
        </span>
      )}
      {adding && (
        <div class="child-create">
          {kinds.map((type) => (
            <InlineCreate
              key={type}
              label={type[0]!.toUpperCase() + type.slice(1)}
              placeholder={`New ${type} under ${item.title}`}
              onCreate={(text) => {
                setAdding(false);
                void board.createItem({ itemType: type, parentId: item.id, title: text });
              }}
            />
          ))}
        </div>
      )}
    </div>
  );
}
