/** The page: a top bar (projects, views, who is here, the connection), the chosen view, the
 * item detail beside it, notes, and the conflict choice when an edit collided. */
import { useEffect, useState } from "preact/hooks";
import type { Session } from "../auth";
import { FIELD_LABELS, TEXT } from "../messages";
import type { Board, BoardStatus } from "../state/board";
import type { Pool } from "../state/pool";
import { roleOf } from "../state/views";
import { BacklogView } from "./BacklogView";
import { BoardView } from "./BoardView";
import { Avatar, InlineCreate, Notes } from "./common";
import { duration } from "./format";
import { useBoard, useNow } from "./hooks";
import { InboxMenu } from "./InboxMenu";
import { ItemDetail } from "./ItemDetail";
import { MembersView } from "./MembersView";
import { SprintsView } from "./SprintsView";
import { StatesView } from "./StatesView";

export type View = "board" | "backlog" | "sprints" | "members" | "states";
const VIEWS: [View, string][] = [
  ["board", "Board"],
  ["backlog", "Backlog"],
  ["sprints", "Sprints"],
  ["members", "Members"],
  ["states", "States"],
];

export interface Route {
  projectId: string | null;
  view: View;
  itemId: string | null;
}

export function readRoute(hash: string): Route {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const view = params.get("view") as View | null;
  return {
    projectId: params.get("project"),
    view: view && VIEWS.some(([v]) => v === view) ? view : "board",
    itemId: params.get("item"),
  };
}

function writeRoute(route: Route): void {
  const params = new URLSearchParams();
  if (route.projectId) params.set("project", route.projectId);
  if (route.view !== "board") params.set("view", route.view);
  if (route.itemId) params.set("item", route.itemId);
  history.replaceState(null, "", `${location.pathname}${location.search}#${params}`);
}

const STATUS_TEXT: Record<BoardStatus, string> = {
  connecting: TEXT.connection.connecting,
  syncing: TEXT.connection.connecting,
  live: TEXT.connection.online,
  offline: TEXT.connection.offline,
  "signed-out": TEXT.signInExpired,
};

export function App({ board, session, initial }: { board: Board; session: Session; initial: Route }) {
  useBoard(board);
  const [route, setRoute] = useState<Route>(initial);
  const go = (next: Partial<Route>) => setRoute({ ...route, ...next });
  useEffect(() => writeRoute(route), [route]);
  useEffect(() => {
    const follow = () => setRoute(readRoute(location.hash));
    window.addEventListener("hashchange", follow);
    return () => window.removeEventListener("hashchange", follow);
  }, []);
  useEffect(() => {
    if (route.projectId && route.projectId !== board.projectId && board.status !== "connecting") void board.openProject(route.projectId);
  }, [route.projectId, board.status === "connecting"]);

  const pool = board.pool;
  const role = pool ? roleOf(pool, session.userId, session.roles) : "viewer";
  const canEdit = role !== "viewer";
  return (
    <div class="app">
      <header class="topbar">
        <button type="button" class="brand link" onClick={() => go({ projectId: null, itemId: null })}>
          pm
        </button>
        {pool && route.projectId && (
          <>
            <span class="project-name">{pool.project.title}</span>
            <nav class="tabs" aria-label="Views">
              {VIEWS.map(([view, label]) => (
                <button key={view} type="button" class={route.view === view ? "tab active" : "tab"} aria-current={route.view === view ? "page" : undefined} onClick={() => go({ view })}>
                  {label}
                </button>
              ))}
            </nav>
          </>
        )}
        <span class="spacer" />
        {pool && route.projectId && (
          <div class="presence" aria-label="Viewing now">
            {pool.presence.map((userId) => <Avatar key={userId} userId={userId} members={pool.members} />)}
          </div>
        )}
        {pool && route.projectId && <MyTimer board={board} pool={pool} onOpen={(itemId) => go({ itemId })} />}
        <InboxMenu board={board} onOpen={(projectId, itemId) => setRoute({ ...route, projectId, itemId, view: projectId === route.projectId ? route.view : "board" })} />
        <span class={`connection connection-${board.status}`} role="status" aria-label="Connection">
          {STATUS_TEXT[board.status]}
        </span>
        <span class="me" title={session.userId}>{session.name}</span>
      </header>
      {pool && route.projectId && !canEdit && <p class="banner">{TEXT.readOnly}</p>}
      <main class={route.itemId && pool ? "main with-detail" : "main"}>
        {!route.projectId && <ProjectList board={board} onOpen={(projectId) => go({ projectId, itemId: null, view: "board" })} />}
        {route.projectId && board.loadError && <p class="refusal" role="alert">{board.loadError}</p>}
        {route.projectId && !pool && !board.loadError && <p class="loading">Loading the project…</p>}
        {route.projectId && pool && (
          <div class="view">
            {route.view === "board" && <BoardView board={board} pool={pool} canEdit={canEdit} onOpen={(itemId) => go({ itemId })} />}
            {route.view === "backlog" && <BacklogView board={board} pool={pool} canEdit={canEdit} onOpen={(itemId) => go({ itemId })} />}
            {route.view === "sprints" && <SprintsView board={board} pool={pool} canEdit={canEdit} token={session.token} />}
            {route.view === "members" && <MembersView board={board} pool={pool} isAdmin={role === "admin"} />}
            {route.view === "states" && <StatesView board={board} pool={pool} isAdmin={role === "admin"} />}
          </div>
        )}
        {route.projectId && pool && route.itemId && (
          <ItemDetail key={route.itemId} board={board} pool={pool} itemId={route.itemId} canEdit={canEdit} onClose={() => go({ itemId: null })} onOpen={(itemId) => go({ itemId })} />
        )}
      </main>
      <Notes board={board} />
      <ConflictDialog board={board} />
    </div>
  );
}

function ProjectList({ board, onOpen }: { board: Board; onOpen: (id: string) => void }) {
  // Asked for when shown (and again once connected), not on the way to an open project.
  useEffect(() => {
    if (board.status !== "connecting") void board.loadProjects();
  }, [board.status === "connecting"]);
  return (
    <div class="projects">
      <h1>Projects</h1>
      {board.projects.length === 0 && <p class="muted">{TEXT.noProjects}</p>}
      <ul class="project-list">
        {board.projects.map((p) => (
          <li key={p.id}>
            <button type="button" class="project-card" onClick={() => onOpen(p.id)}>
              <strong>{p.title}</strong>
              {p.description && <span class="muted">{p.description}</span>}
            </button>
          </li>
        ))}
      </ul>
      <InlineCreate
        label="New project"
        placeholder="Project name"
        onCreate={(title) => void board.createProject(title).then((p) => p && onOpen(p.id))}
      />
    </div>
  );
}

function ConflictDialog({ board }: { board: Board }) {
  const conflict = board.conflict;
  const [choices, setChoices] = useState<Record<string, "mine" | "theirs">>({});
  useEffect(() => setChoices({}), [conflict]);
  if (conflict === null) return null;
  const choice = (field: string) => choices[field] ?? "mine";
  return (
    <div class="overlay">
      <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="conflict-title">
        <h2 id="conflict-title">{TEXT.conflictTitle}</h2>
        <p class="muted">{TEXT.conflictHelp}</p>
        <table class="conflict">
          <thead>
            <tr>
              <th>Field</th>
              <th>{TEXT.conflictSeen}</th>
              <th>{TEXT.conflictStored}</th>
              <th>{TEXT.conflictAttempted}</th>
            </tr>
          </thead>
          <tbody>
            {conflict.fields.map((f) => (
              <tr key={f.field}>
                <th scope="row">{FIELD_LABELS[f.field] ?? f.field}</th>
                <td class="seen">{f.seen ?? "—"}</td>
                <td>
                  <label class="choice">
                    <input type="radio" name={`c-${f.field}`} checked={choice(f.field) === "theirs"} onChange={() => setChoices({ ...choices, [f.field]: "theirs" })} />
                    <span class="stored">{f.stored ?? "—"}</span>
                  </label>
                </td>
                <td>
                  <label class="choice">
                    <input type="radio" name={`c-${f.field}`} checked={choice(f.field) === "mine"} onChange={() => setChoices({ ...choices, [f.field]: "mine" })} />
                    <span class="attempted">{f.attempted ?? "—"}</span>
                  </label>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <div class="form-actions">
          <button type="button" onClick={() => void board.resolveConflict(Object.fromEntries(conflict.fields.map((f) => [f.field, choice(f.field)])))}>
            Save my choice
          </button>
          <button type="button" class="ghost" onClick={() => board.dismissConflict()}>
            Discard my edit
          </button>
        </div>
      </div>
    </div>
  );
}

/** The person's running timer (one per user: DOMAIN.md), wherever it was started: another tab
 * or device starting or stopping it shows here live. */
function MyTimer({ board, pool, onOpen }: { board: Board; pool: Pool; onOpen: (id: string) => void }) {
  const now = useNow(1000);
  const mine = pool.timers.get(board.userId);
  if (!mine) return null;
  const title = pool.items.get(mine.workItemId)?.title ?? "an item";
  return (
    <span class="my-timer" role="timer" aria-label="Your running timer">
      <button type="button" class="link" onClick={() => onOpen(mine.workItemId)}>
        ◷ {title} · {duration((now - Number(mine.startedAt)) / 1000)}
      </button>
      <button type="button" class="ghost" onClick={() => void board.command("stopTimer", { timeEntryId: mine.id })}>
        Stop
      </button>
    </span>
  );
}
