/** One item: its fields (edited on top of the version the person saw, so a collision opens the
 * conflict choice), comments with one level of replies, time with a running timer, dependencies
 * (a refused cycle shows its path) and the activity log with field diffs. */
import { useEffect, useMemo, useState } from "preact/hooks";
import type { ActivityEntry, Comment, DependenciesList, Envelope, TimeEntriesList, WorkItem } from "../gen/pm_pb";
import { describeError, FIELD_LABELS, PRIORITY_LABELS, TEXT } from "../messages";
import { RequestError } from "../protocol/connection";
import type { Board, UpdateFields } from "../state/board";
import type { Pool } from "../state/pool";
import { displayName, effectiveItems, isBlocked, orderedStates, stateName } from "../state/views";
import { CHILD_TYPES } from "./BacklogView";
import { Avatar, Section, StatusPill, TypeBadge } from "./common";
import { duration, when } from "./format";
import { useNow } from "./hooks";
import { ItemFields } from "./ItemFields";

interface Draft {
  title: string;
  description: string;
  status: string;
  priority: string;
  assigneeId: string;
  storyPoints: string;
  sprintId: string;
}

function draftOf(item: WorkItem): Draft {
  return {
    title: item.title,
    description: item.description,
    status: item.status,
    priority: item.priority,
    assigneeId: item.assigneeId ?? "",
    storyPoints: item.storyPoints === undefined ? "" : String(item.storyPoints),
    sprintId: item.sprintId ?? "",
  };
}

function changes(base: Draft, draft: Draft): UpdateFields {
  const fields: UpdateFields = {};
  if (draft.title !== base.title) fields.title = draft.title;
  if (draft.description !== base.description) fields.description = draft.description;
  if (draft.status !== base.status) fields.status = draft.status;
  if (draft.priority !== base.priority) fields.priority = draft.priority;
  if (draft.assigneeId !== base.assigneeId) fields.assigneeId = draft.assigneeId;
  if (draft.sprintId !== base.sprintId) fields.sprintId = draft.sprintId;
  if (draft.storyPoints !== base.storyPoints) fields.storyPoints = draft.storyPoints === "" ? -1 : Number(draft.storyPoints);
  return fields;
}

export function ItemDetail({ board, pool, itemId, canEdit, onClose, onOpen }: {
  board: Board;
  pool: Pool;
  itemId: string;
  canEdit: boolean;
  onClose: () => void;
  onOpen: (id: string) => void;
}) {
  const items = useMemo(() => effectiveItems(pool, board.pending), [pool.revision, board.pending]);
  const item = items.get(itemId);
  // The version the person started editing from, and what they typed; both unset while they
  // aren't editing, so the form follows the live item.
  const [edit, setEdit] = useState<{ base: WorkItem; draft: Draft } | null>(null);
  // Done editing once what was typed is what is stored (saved, or saved after a conflict), or
  // when the person discarded their edit in the conflict choice.
  const settled =
    edit !== null && item !== undefined && item.version !== edit.base.version && Object.keys(changes(draftOf(item), edit.draft)).length === 0;
  useEffect(() => {
    if (settled) setEdit(null);
  }, [settled]);
  useEffect(() => setEdit(null), [board.discardedEdits]);

  if (!item) {
    return (
      <aside class="detail" aria-label="Item detail">
        <button type="button" class="ghost close" onClick={onClose} aria-label="Close">×</button>
        <p>{TEXT.itemGone}</p>
      </aside>
    );
  }
  const base = edit?.base ?? item;
  const draft = edit?.draft ?? draftOf(item);
  const dirty = Object.keys(changes(draftOf(base), draft)).length > 0;
  const set = (field: keyof Draft) => (e: Event) =>
    setEdit({ base, draft: { ...draft, [field]: (e.target as HTMLInputElement).value } });
  const openSprints = [...pool.sprints.values()].filter((s) => s.status === "planned" || s.status === "active");
  const parents = [...items.values(), pool.project].filter((p) => (CHILD_TYPES[p.itemType] ?? []).includes(item.itemType) && p.id !== item.id);
  const changedMeanwhile = dirty && item.version > base.version;

  return (
    <aside class="detail" aria-label="Item detail">
      <header class="detail-head">
        <TypeBadge type={item.itemType} />
        {item.key && <span class="key" aria-label="Key">{item.key}</span>}
        {isBlocked(item, pool) && <span class="badge blocked">Blocked</span>}
        <StatusPill status={item.status} name={stateName(pool, item.status)} />
        <span class="muted">v{String(item.version)}</span>
        <WatchToggle board={board} itemId={item.id} />
        <button type="button" class="ghost close" onClick={onClose} aria-label="Close">×</button>
      </header>
      <form
        class="fields"
        onSubmit={(e) => {
          e.preventDefault();
          const fields = changes(draftOf(base), draft);
          if (Object.keys(fields).length === 0) return;
          void board.updateItem(item.id, base.version, fields).then((saved) => {
            if (saved) setEdit(null);
          });
        }}
      >
        <fieldset disabled={!canEdit}>
          <label>
            Title
            <input name="title" value={draft.title} onInput={set("title")} />
          </label>
          <label>
            Description
            <textarea name="description" rows={4} value={draft.description} onInput={set("description")} />
          </label>
          <div class="field-grid">
            <label>
              Status
              <select name="status" value={draft.status} onChange={set("status")}>
                {orderedStates(pool).map((state) => <option key={state.id} value={state.key}>{state.name}</option>)}
              </select>
            </label>
            <label>
              Priority
              <select name="priority" value={draft.priority} onChange={set("priority")}>
                {Object.entries(PRIORITY_LABELS).map(([value, label]) => <option key={value} value={value}>{label}</option>)}
              </select>
            </label>
            <label>
              Assignee
              <select name="assignee" value={draft.assigneeId} onChange={set("assigneeId")}>
                <option value="">Unassigned</option>
                {[...pool.members.values()].map((m) => <option key={m.userId} value={m.userId}>{displayName(pool.members, m.userId)}</option>)}
              </select>
            </label>
            <label>
              Points
              <input name="points" type="number" min={0} max={1000} value={draft.storyPoints} onInput={set("storyPoints")} />
            </label>
            <label>
              Sprint
              <select name="sprint" value={draft.sprintId} onChange={set("sprintId")}>
                <option value="">No sprint</option>
                {openSprints.map((s) => <option key={s.id} value={s.id}>{s.name}</option>)}
              </select>
            </label>
            <label>
              Parent
              <select
                name="parent"
                value={item.parentId ?? ""}
                onChange={(e) => {
                  const parentId = (e.target as HTMLSelectElement).value;
                  void board.command(
                    "moveWorkItem",
                    { workItemId: item.id, expectedVersion: item.version, parentId },
                    { itemId: item.id, patch: { parentId } },
                    TEXT.moveRolledBack,
                  );
                }}
              >
                {parents.map((p) => <option key={p.id} value={p.id}>{p.title}</option>)}
              </select>
            </label>
          </div>
          {changedMeanwhile && <p class="hint">Changed by {displayName(pool.members, item.updatedBy)} while you were editing.</p>}
          {canEdit && (
            <div class="form-actions">
              <button type="submit" disabled={!dirty}>Save</button>
              <button type="button" class="ghost" disabled={!dirty} onClick={() => setEdit(null)}>
                Cancel
              </button>
            </div>
          )}
        </fieldset>
      </form>
      <ItemFields board={board} pool={pool} item={item} canEdit={canEdit} />
      <Comments board={board} pool={pool} item={item} canEdit={canEdit} />
      <TimeTracking board={board} pool={pool} item={item} canEdit={canEdit} />
      <Dependencies board={board} pool={pool} item={item} items={items} canEdit={canEdit} onOpen={onOpen} />
      <Activity board={board} pool={pool} item={item} />
    </aside>
  );
}

/** Watch or stop watching the item (any member may): told of its comments and status changes. */
function WatchToggle({ board, itemId }: { board: Board; itemId: string }) {
  const watching = board.inbox.watching.get(itemId);
  useEffect(() => {
    void board.inbox.loadWatching(itemId).catch(() => undefined);
  }, [itemId]);
  if (watching === undefined) return null;
  return (
    <button
      type="button"
      class={watching ? "ghost watch watching" : "ghost watch"}
      aria-pressed={watching}
      onClick={() => void board.inbox.setWatching(itemId, !watching).catch((error: unknown) => board.note(describeError(error instanceof RequestError ? { code: error.code, message: error.detail } : { code: "INTERNAL", message: "" })))}
    >
      {watching ? TEXT.inbox.watching : TEXT.inbox.watch}
    </button>
  );
}

/** Load once per item, reload when an event about it arrives. */
function useItemData<T>(board: Board, itemId: string, load: () => Promise<T | null>, relevant: (e: Envelope) => boolean): T | null {
  const [data, setData] = useState<T | null>(null);
  useEffect(() => {
    let live = true;
    const refresh = () => void load().then((value) => live && value !== null && setData(value));
    refresh();
    const stop = board.onProjectEvent((envelope) => relevant(envelope) && refresh());
    return () => {
      live = false;
      stop();
    };
  }, [itemId]);
  return data;
}

function Comments({ board, pool, item, canEdit }: { board: Board; pool: Pool; item: WorkItem; canEdit: boolean }) {
  const comments = useItemData<Comment[]>(
    board,
    item.id,
    async () => {
      const pages = await board.attemptAll("getComments", { workItemId: item.id }, "commentsList");
      return pages instanceof RequestError ? null : pages.flatMap((page) => page.comments);
    },
    (e) =>
      ((e.payload.case === "commentCreated" || e.payload.case === "commentUpdated") && e.payload.value.comment?.workItemId === item.id) ||
      (e.payload.case === "commentDeleted" && e.payload.value.workItemId === item.id),
  );
  const [text, setText] = useState("");
  const [replyTo, setReplyTo] = useState<string | null>(null);
  const [reply, setReply] = useState("");
  const top = (comments ?? []).filter((c) => !c.parentCommentId);
  const replies = (id: string) => (comments ?? []).filter((c) => c.parentCommentId === id);
  const post = (content: string, parentCommentId?: string) =>
    board.command("createComment", parentCommentId ? { workItemId: item.id, content, parentCommentId } : { workItemId: item.id, content });

  const show = (c: Comment) => (
    <div class="comment">
      <Avatar userId={c.createdBy} members={pool.members} small />
      <div>
        <div class="comment-meta">
          <strong>{displayName(pool.members, c.createdBy)}</strong> <span class="muted">{when(c.createdAt)}</span>
        </div>
        <p>{c.content}</p>
      </div>
    </div>
  );
  return (
    <Section title={`Comments (${comments?.length ?? 0})`}>
      <ul class="comments">
        {top.map((c) => (
          <li key={c.id}>
            {show(c)}
            <ul class="replies">{replies(c.id).map((r) => <li key={r.id}>{show(r)}</li>)}</ul>
            {canEdit && replyTo !== c.id && <button type="button" class="ghost" onClick={() => setReplyTo(c.id)}>Reply</button>}
            {replyTo === c.id && (
              <form
                class="inline-create"
                onSubmit={(e) => {
                  e.preventDefault();
                  if (reply.trim()) void post(reply.trim(), c.id);
                  setReply("");
                  setReplyTo(null);
                }}
              >
                <input autoFocus aria-label="Reply" placeholder="Reply…" value={reply} onInput={(e) => setReply((e.target as HTMLInputElement).value)} />
                <button type="submit">Reply</button>
              </form>
            )}
          </li>
        ))}
      </ul>
      {canEdit && (
        <form
          class="inline-create"
          onSubmit={(e) => {
            e.preventDefault();
            if (text.trim()) void post(text.trim());
            setText("");
          }}
        >
          <input aria-label="New comment" placeholder="Write a comment…" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
          <button type="submit">Comment</button>
        </form>
      )}
    </Section>
  );
}

function TimeTracking({ board, pool, item, canEdit }: { board: Board; pool: Pool; item: WorkItem; canEdit: boolean }) {
  const now = useNow(1000);
  const data = useItemData<TimeEntriesList>(
    board,
    item.id,
    async () => {
      const pages = await board.attemptAll("getTimeEntries", { workItemId: item.id }, "timeEntriesList");
      if (pages instanceof RequestError || pages.length === 0) return null;
      const entries = pages.flatMap((page) => page.timeEntries);
      board.noteTimers(entries);
      return { ...pages[pages.length - 1]!, timeEntries: entries };
    },
    (e) =>
      (e.payload.case === "timerStarted" && (e.payload.value.timeEntry?.workItemId === item.id || e.payload.value.stoppedEntry?.workItemId === item.id)) ||
      ((e.payload.case === "timeEntryUpdated" || e.payload.case === "timeEntryCreated") && e.payload.value.timeEntry?.workItemId === item.id) ||
      (e.payload.case === "timeEntryDeleted" && e.payload.value.workItemId === item.id),
  );
  const mine = pool.timers.get(board.userId);
  const runningHere = [...pool.timers.values()].filter((t) => t.workItemId === item.id);
  const runningSeconds = (startedAt: bigint) => (now - Number(startedAt)) / 1000;
  return (
    <Section
      title="Time"
      actions={
        canEdit &&
        (mine?.workItemId === item.id ? (
          <button type="button" onClick={() => void board.command("stopTimer", { timeEntryId: mine.id })}>Stop timer</button>
        ) : (
          <button type="button" onClick={() => void board.command("startTimer", { workItemId: item.id })}>Start timer</button>
        ))
      }
    >
      {runningHere.map((t) => (
        <p key={t.id} class="timer-line" role="timer">
          ◷ {t.userId === board.userId ? "Your timer" : `${displayName(pool.members, t.userId)}'s timer`} is running: {duration(runningSeconds(t.startedAt))}
        </p>
      ))}
      {mine && mine.workItemId !== item.id && <p class="muted">Your timer is running on another item; starting one here stops it.</p>}
      <p>
        Total: <strong>{duration(Number(data?.totalSeconds ?? 0n))}</strong>
        {data?.byUser.map((u) => <span key={u.userId} class="muted"> · {displayName(pool.members, u.userId)} {duration(Number(u.totalSeconds))}</span>)}
      </p>
    </Section>
  );
}

function Dependencies({ board, pool, item, items, canEdit, onOpen }: {
  board: Board;
  pool: Pool;
  item: WorkItem;
  items: Map<string, WorkItem>;
  canEdit: boolean;
  onOpen: (id: string) => void;
}) {
  const data = useItemData<DependenciesList>(
    board,
    item.id,
    async () => {
      const pages = await board.attemptAll("getDependencies", { workItemId: item.id }, "dependenciesList");
      if (pages instanceof RequestError || pages.length === 0) return null;
      const blocking = pages.flatMap((page) => page.blocking);
      return { ...pages[pages.length - 1]!, blocking, blocked: pages.flatMap((page) => page.blocked) };
    },
    (e) => e.payload.case === "dependencyCreated" || e.payload.case === "dependencyDeleted",
  );
  const [other, setOther] = useState("");
  const [direction, setDirection] = useState<"blocked-by" | "blocks">("blocked-by");
  const [refusal, setRefusal] = useState<{ text: string; path: string[] } | null>(null);
  const candidates = [...items.values()].filter((i) => i.id !== item.id && i.itemType !== "project");
  const title = (id: string) => items.get(id)?.title ?? (id === pool.project.id ? pool.project.title : id);
  const line = (dep: DependenciesList["blocking"][number], label: string) => (
    <li key={dep.id}>
      <span class="muted">{label}</span>{" "}
      <button type="button" class="link" onClick={() => dep.otherItem && onOpen(dep.otherItem.id)}>{dep.otherItem?.title ?? "?"}</button>{" "}
      {dep.otherItem && <StatusPill status={dep.otherItem.status} name={stateName(pool, dep.otherItem.status)} />}
      {dep.dependencyType === "relates_to" && <span class="muted"> (related)</span>}
      {canEdit && (
        <button type="button" class="ghost danger" aria-label="Remove dependency" onClick={() => void board.command("deleteDependency", { dependencyId: dep.id })}>
          ×
        </button>
      )}
    </li>
  );
  return (
    <Section title="Dependencies">
      <ul class="deps">
        {data?.blocking.map((d) => line(d, "Blocked by"))}
        {data?.blocked.map((d) => line(d, "Blocks"))}
        {data && data.blocking.length + data.blocked.length === 0 && <li class="muted">None</li>}
      </ul>
      {canEdit && (
        <form
          class="inline-create"
          onSubmit={async (e) => {
            e.preventDefault();
            if (!other) return;
            const [blocking, blocked] = direction === "blocked-by" ? [other, item.id] : [item.id, other];
            const result = await board.attempt("createDependency", { blockingItemId: blocking, blockedItemId: blocked });
            if (result instanceof RequestError) {
              setRefusal({ text: describeError({ code: result.code, message: result.detail }), path: result.path });
            } else {
              setRefusal(null);
              setOther("");
            }
          }}
        >
          <select aria-label="Dependency direction" value={direction} onChange={(e) => setDirection((e.target as HTMLSelectElement).value as never)}>
            <option value="blocked-by">Blocked by</option>
            <option value="blocks">Blocks</option>
          </select>
          <select aria-label="Other item" value={other} onChange={(e) => setOther((e.target as HTMLSelectElement).value)}>
            <option value="">Choose an item…</option>
            {candidates.map((c) => <option key={c.id} value={c.id}>{c.title}</option>)}
          </select>
          <button type="submit">Add</button>
        </form>
      )}
      {refusal && (
        <div class="refusal" role="alert">
          <p>{refusal.text}</p>
          {refusal.path.length > 0 && (
            <>
              <p>{TEXT.cycleTitle}</p>
              <ol class="cycle">{refusal.path.map((id, i) => <li key={`${id}-${i}`}>{title(id)}</li>)}</ol>
            </>
          )}
        </div>
      )}
    </Section>
  );
}

function Activity({ board, pool, item }: { board: Board; pool: Pool; item: WorkItem }) {
  const entries = useItemData<ActivityEntry[]>(
    board,
    item.id,
    async () => {
      const r = await board.attempt("getActivity", { projectId: pool.project.id, entityId: item.id, limit: 30 });
      return r instanceof RequestError || r.payload.case !== "activityPage" ? null : [...r.payload.value.entries];
    },
    (e) => e.payload.case === "workItemUpdated" && e.payload.value.workItem?.id === item.id,
  );
  const value = (field: string | undefined, raw: string | undefined) => {
    if (raw === undefined || raw === "") return "—";
    if (field === "status") return stateName(pool, raw);
    if (field === "priority") return PRIORITY_LABELS[raw] ?? raw;
    if (field === "assignee_id") return displayName(pool.members, raw);
    if (field === "sprint_id") return pool.sprints.get(raw)?.name ?? raw;
    if (field === "parent_id") return raw === pool.project.id ? pool.project.title : pool.items.get(raw)?.title ?? raw;
    return raw;
  };
  return (
    <Section title="Activity">
      <ul class="activity">
        {(entries ?? []).map((a) => (
          <li key={String(a.id)}>
            <strong>{displayName(pool.members, a.userId)}</strong>{" "}
            {a.fieldName ? (
              <>
                changed <em>{FIELD_LABELS[a.fieldName] ?? a.fieldName}</em>: <del>{value(a.fieldName, a.oldValue)}</del> → <ins>{value(a.fieldName, a.newValue)}</ins>
              </>
            ) : (
              a.action
            )}{" "}
            <span class="muted">{when(a.at)}</span>
          </li>
        ))}
      </ul>
    </Section>
  );
}
