/** Sprints: create, plan (move backlog items in), start, complete (unfinished items go back to
 * the backlog or into a named next sprint, as the server's rules say), cancel; the burndown of
 * the chosen sprint (the sprint report, a REST bulk read) and the velocity of completed ones. */
import { useEffect, useMemo, useState } from "preact/hooks";
import type { Sprint } from "../gen/pm_pb";
import { SPRINT_STATUS_LABELS } from "../messages";
import { getJson, type CycleTimeReport, type SprintReport } from "../protocol/rest";
import { RequestError } from "../protocol/connection";
import { describeError } from "../messages";
import type { Board } from "../state/board";
import { flowFigures } from "../state/flow";
import type { Pool } from "../state/pool";
import { BOARD_TYPES, byPosition, effectiveItems, stateName } from "../state/views";
import { lazy, Suspense } from "preact/compat";
import { Section, StatusPill, TypeBadge } from "./common";

// Chart.js is loaded with the Sprints view, not with the board.
const BurndownChart = lazy(() => import("./charts").then((m) => ({ default: m.BurndownChart })));
const VelocityChart = lazy(() => import("./charts").then((m) => ({ default: m.VelocityChart })));
const FlowChart = lazy(() => import("./charts").then((m) => ({ default: m.FlowChart })));
const chartLoading = <p class="muted">Loading the chart…</p>;

const ORDER: Record<string, number> = { active: 0, planned: 1, completed: 2, cancelled: 3 };

export function SprintsView({ board, pool, canEdit, token }: { board: Board; pool: Pool; canEdit: boolean; token: string }) {
  const sprints = [...pool.sprints.values()].sort((a, b) => (ORDER[a.status]! - ORDER[b.status]!) || a.name.localeCompare(b.name));
  const [chosen, setChosen] = useState<string | null>(null);
  const current = pool.sprints.get(chosen ?? "") ?? sprints[0];
  const completed = sprints
    .filter((s) => s.status === "completed")
    .sort((a, b) => Number((a.completedAt ?? 0n) - (b.completedAt ?? 0n)))
    .map((s) => ({ name: s.name, committed: s.committedPoints ?? 0, velocity: s.velocity ?? 0 }));

  return (
    <div class="sprints">
      <div class="sprint-list">
        <h2>Sprints</h2>
        <ul>
          {sprints.map((s) => (
            <li key={s.id}>
              <button type="button" class={`link${current?.id === s.id ? " selected" : ""}`} onClick={() => setChosen(s.id)}>
                {s.name}
              </button>{" "}
              <span class={`sprint-status sprint-${s.status}`}>{SPRINT_STATUS_LABELS[s.status]}</span>
            </li>
          ))}
        </ul>
        {canEdit && <NewSprint board={board} projectId={pool.project.id} />}
        <Section title="Velocity">
          {completed.length > 0 ? (
            <Suspense fallback={chartLoading}>
              <VelocityChart sprints={completed} />
            </Suspense>
          ) : (
            <p class="muted">No completed sprint yet.</p>
          )}
        </Section>
        <FlowSection pool={pool} token={token} />
      </div>
      {current && <SprintPanel key={current.id} board={board} pool={pool} sprint={current} canEdit={canEdit} token={token} />}
    </div>
  );
}

/** Cycle and lead time of the last 30 days (the server's default range), read again when an
 * item enters or leaves done. */
function FlowSection({ pool, token }: { pool: Pool; token: string }) {
  const [report, setReport] = useState<CycleTimeReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  const doneKey = [...pool.items.values()].filter((i) => i.status === "done").map((i) => i.id).sort().join(",");
  useEffect(() => {
    getJson<CycleTimeReport>(`/api/v1/projects/${encodeURIComponent(pool.project.id)}/cycle-time`, token)
      .then((r) => {
        setReport(r);
        setError(null);
      })
      .catch((e: unknown) => setError(e instanceof RequestError ? describeError({ code: e.code, message: e.detail }) : "—"));
  }, [pool.project.id, doneKey]);
  const figures = report && flowFigures(report);
  return (
    <Section title="Cycle and lead time">
      {error && <p class="refusal">{error}</p>}
      {figures ? (
        <>
          <p class="muted">{figures.summary}</p>
          <Suspense fallback={chartLoading}>
            <FlowChart lead={figures.lead} cycle={figures.cycle} unit={figures.unit} />
          </Suspense>
        </>
      ) : (
        report && <p class="muted">Nothing completed in the last 30 days.</p>
      )}
    </Section>
  );
}

function NewSprint({ board, projectId }: { board: Board; projectId: string }) {
  const [name, setName] = useState("");
  const [start, setStart] = useState("");
  const [end, setEnd] = useState("");
  return (
    <form
      class="new-sprint"
      onSubmit={(e) => {
        e.preventDefault();
        if (!name.trim()) return;
        const value: Record<string, string> = { projectId, name: name.trim() };
        if (start) value.startDate = start;
        if (end) value.endDate = end;
        void board.command("createSprint", value);
        setName("");
      }}
    >
      <input aria-label="Sprint name" placeholder="New sprint name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      <label>Start <input type="date" aria-label="Start date" value={start} onInput={(e) => setStart((e.target as HTMLInputElement).value)} /></label>
      <label>End <input type="date" aria-label="End date" value={end} onInput={(e) => setEnd((e.target as HTMLInputElement).value)} /></label>
      <button type="submit">Create sprint</button>
    </form>
  );
}

function SprintPanel({ board, pool, sprint, canEdit, token }: { board: Board; pool: Pool; sprint: Sprint; canEdit: boolean; token: string }) {
  const items = useMemo(() => effectiveItems(pool, board.pending), [pool.revision, board.pending]);
  const inSprint = [...items.values()].filter((i) => i.sprintId === sprint.id).sort(byPosition);
  const backlog = [...items.values()]
    .filter((i) => !i.sprintId && BOARD_TYPES.has(i.itemType) && i.status !== "done")
    .sort(byPosition);
  const [report, setReport] = useState<SprintReport | null>(null);
  const [reportError, setReportError] = useState<string | null>(null);
  const [moveTo, setMoveTo] = useState("");
  const planned = [...pool.sprints.values()].filter((s) => s.status === "planned" && s.id !== sprint.id);
  const doneKey = inSprint.map((i) => `${i.id}:${i.status}:${i.storyPoints}`).join(",");

  useEffect(() => {
    getJson<SprintReport>(`/api/v1/sprints/${encodeURIComponent(sprint.id)}`, token)
      .then((r) => {
        setReport(r);
        setReportError(null);
      })
      .catch((e: unknown) => setReportError(e instanceof RequestError ? describeError({ code: e.code, message: e.detail }) : "—"));
  }, [sprint.id, sprint.version, doneKey]);

  const plan = (itemId: string, version: bigint, sprintId: string) => void board.updateItem(itemId, version, { sprintId });
  const points = (list: typeof inSprint) => list.reduce((sum, i) => sum + (i.storyPoints ?? 0), 0);
  const open = sprint.status === "planned" || sprint.status === "active";

  return (
    <div class="sprint-panel">
      <header class="section-head">
        <h2>{sprint.name}</h2>
        <span class={`sprint-status sprint-${sprint.status}`}>{SPRINT_STATUS_LABELS[sprint.status]}</span>
        <span class="muted">
          {sprint.startDate ?? "no start"} → {sprint.endDate ?? "no end"}
        </span>
        {canEdit && sprint.status === "planned" && (
          <>
            <button type="button" onClick={() => void board.command("startSprint", { sprintId: sprint.id, expectedVersion: sprint.version })}>Start sprint</button>
            <button type="button" class="ghost danger" onClick={() => void board.command("deleteSprint", { sprintId: sprint.id, expectedVersion: sprint.version })}>Delete</button>
          </>
        )}
        {canEdit && sprint.status === "active" && (
          <>
            <select aria-label="Unfinished items go to" value={moveTo} onChange={(e) => setMoveTo((e.target as HTMLSelectElement).value)}>
              <option value="">Unfinished items → backlog</option>
              {planned.map((s) => <option key={s.id} value={s.id}>Unfinished items → {s.name}</option>)}
            </select>
            <button
              type="button"
              onClick={() =>
                void board.command(
                  "completeSprint",
                  moveTo ? { sprintId: sprint.id, expectedVersion: sprint.version, moveUnfinishedTo: moveTo } : { sprintId: sprint.id, expectedVersion: sprint.version },
                )
              }
            >
              Complete sprint
            </button>
            <button type="button" class="ghost danger" onClick={() => void board.command("cancelSprint", { sprintId: sprint.id, expectedVersion: sprint.version })}>Cancel sprint</button>
          </>
        )}
      </header>
      {sprint.goal && <p class="goal">{sprint.goal}</p>}
      <Section title={`Burndown${report ? ` · ${report.points_done} of ${report.points_committed} points done` : ""}`}>
        {reportError && <p class="refusal">{reportError}</p>}
        {report && report.burndown.length > 0 ? (
          <Suspense fallback={chartLoading}>
            <BurndownChart days={report.burndown} committed={report.points_committed} />
          </Suspense>
        ) : (
          <p class="muted">The burndown starts once the sprint has a start date.</p>
        )}
      </Section>
      <div class="plan">
        <Section title={`In this sprint (${inSprint.length} · ${points(inSprint)} pt)`}>
          <ul class="plan-list">
            {inSprint.map((i) => (
              <li key={i.id}>
                <TypeBadge type={i.itemType} /> <span class="title">{i.title}</span> <StatusPill status={i.status} name={stateName(pool, i.status)} />
                {i.storyPoints !== undefined && <span class="points">{i.storyPoints}</span>}
                {canEdit && open && (
                  <button type="button" class="ghost" aria-label={`Remove ${i.title} from the sprint`} onClick={() => plan(i.id, i.version, "")}>
                    Remove
                  </button>
                )}
              </li>
            ))}
          </ul>
        </Section>
        {open && (
          <Section title={`Backlog (${backlog.length})`}>
            <ul class="plan-list">
              {backlog.slice(0, 200).map((i) => (
                <li key={i.id}>
                  <TypeBadge type={i.itemType} /> <span class="title">{i.title}</span>
                  {i.storyPoints !== undefined && <span class="points">{i.storyPoints}</span>}
                  {canEdit && (
                    <button type="button" class="ghost" aria-label={`Add ${i.title} to the sprint`} onClick={() => plan(i.id, i.version, sprint.id)}>
                      Add to sprint
                    </button>
                  )}
                </li>
              ))}
            </ul>
          </Section>
        )}
      </div>
    </div>
  );
}
