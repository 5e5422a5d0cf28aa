/**
 * The project's object pool: every entity of one project, fed by the snapshot and then by
 * change events in `seq` order (pm's seq is the sync id; STYLE.md's Linear anchor). Views read
 * from it and never write to it.
 *
 * Exactly once: an event is applied only if its seq is above the snapshot's `as_of_seq` (the
 * snapshot already holds everything up to it) and not applied before (a catch-up may replay
 * what arrived live). Entities also carry versions, and an older version never replaces a
 * newer one, so an event that arrives out of order can't undo a later change.
 */
import type {
  CustomField,
  Dependency,
  Envelope,
  Label,
  Member,
  ProjectSnapshot,
  SavedView,
  Sprint,
  SwimLane,
  TimeEntry,
  WorkflowState,
  WorkItem,
} from "../gen/pm_pb";

export interface RecentEdit {
  userId: string;
  atMs: number;
}

export interface Pool {
  project: WorkItem;
  items: Map<string, WorkItem>;
  sprints: Map<string, Sprint>;
  lanes: Map<string, SwimLane>;
  /** The project's workflow states by id: the board's columns, an item's possible statuses. */
  states: Map<string, WorkflowState>;
  members: Map<string, Member>; // by user id
  dependencies: Map<string, Dependency>;
  labels: Map<string, Label>;
  customFields: Map<string, CustomField>;
  /** The person's own saved views of the project and the shared ones. */
  views: Map<string, SavedView>;
  /** Running timers by user: one per user (DOMAIN.md), learned from events and item details. */
  timers: Map<string, TimeEntry>;
  presence: string[];
  recentEdits: Map<string, RecentEdit>;
  gone: Set<string>; // ids deleted since the snapshot: a late event must not bring one back
  floor: bigint; // the snapshot's as_of_seq
  cursor: bigint; // the highest seq applied; GetChanges resumes after it
  applied: Set<bigint>;
  revision: number; // bumped on every change; views memoise on it
}

export function fromSnapshot(snapshot: ProjectSnapshot): Pool {
  const project = snapshot.project!;
  return {
    project,
    items: new Map(snapshot.workItems.map((i) => [i.id, i])),
    sprints: new Map(snapshot.sprints.map((s) => [s.id, s])),
    lanes: new Map(snapshot.swimLanes.map((l) => [l.id, l])),
    states: new Map(snapshot.states.map((s) => [s.id, s])),
    members: new Map(snapshot.members.map((m) => [m.userId, m])),
    dependencies: new Map(snapshot.dependencies.map((d) => [d.id, d])),
    labels: new Map(snapshot.labels.map((l) => [l.id, l])),
    customFields: new Map(snapshot.customFields.map((f) => [f.id, f])),
    views: new Map(snapshot.views.map((v) => [v.id, v])),
    timers: new Map(),
    presence: [],
    recentEdits: new Map(),
    gone: new Set(),
    floor: snapshot.asOfSeq,
    cursor: snapshot.asOfSeq,
    applied: new Set(),
    revision: 0,
  };
}

export type Applied = "applied" | "duplicate" | "other-project";

/** Apply one change event (live or replayed by GetChanges); events without a seq are ignored
 * here except presence. `selfUserId` marks whose edits are "recent edits by others". */
export function applyEvent(pool: Pool, envelope: Envelope, selfUserId: string, nowMs: number): Applied {
  const payload = envelope.payload;
  if (payload.case === "presenceChanged") {
    if (payload.value.projectId !== pool.project.id) return "other-project";
    pool.presence = nextPresence(pool.presence, payload.value);
    pool.revision += 1;
    return "applied";
  }
  const seq = envelope.seq;
  if (seq <= pool.floor || pool.applied.has(seq)) return "duplicate";
  const changed = applyPayload(pool, payload);
  if (!changed) return "other-project";
  pool.applied.add(seq);
  if (seq > pool.cursor) pool.cursor = seq;
  const itemId = touchedItem(payload);
  if (itemId && envelope.actorId && envelope.actorId !== selfUserId) {
    pool.recentEdits.set(itemId, { userId: envelope.actorId, atMs: nowMs });
  }
  pool.revision += 1;
  return "applied";
}

/** A response to this page's own command, applied like its event (which the server sends to
 * everyone else). Recorded as applied so a catch-up replay of it is a no-op; the cursor stays,
 * so an earlier event still in flight is not skipped by a later catch-up. */
export function applyOwnResponse(pool: Pool, envelope: Envelope): void {
  if (envelope.seq > 0n && (envelope.seq <= pool.floor || pool.applied.has(envelope.seq))) return;
  if (applyPayload(pool, envelope.payload)) {
    if (envelope.seq > 0n) pool.applied.add(envelope.seq);
    pool.revision += 1;
  }
}

function applyPayload(pool: Pool, payload: Envelope["payload"]): boolean {
  const inProject = (projectId: string) => projectId === pool.project.id;
  switch (payload.case) {
    case "workItemCreated":
    case "workItemUpdated": {
      const item = payload.value.workItem;
      if (!item || !inProject(item.projectId)) return false;
      if (item.id === pool.project.id) {
        if (item.version > pool.project.version) pool.project = item;
        return true;
      }
      return putVersioned(pool.items, pool.gone, item.id, item);
    }
    case "workItemDeleted":
      if (!inProject(payload.value.projectId)) return false;
      pool.gone.add(payload.value.workItemId);
      pool.items.delete(payload.value.workItemId);
      for (const [id, dep] of pool.dependencies) {
        if (dep.blockingItemId === payload.value.workItemId || dep.blockedItemId === payload.value.workItemId) {
          pool.dependencies.delete(id);
        }
      }
      return true;
    case "sprintCreated":
    case "sprintUpdated": {
      const sprint = payload.value.sprint;
      if (!sprint || !inProject(sprint.projectId)) return false;
      return putVersioned(pool.sprints, pool.gone, sprint.id, sprint);
    }
    case "sprintDeleted":
      if (!inProject(payload.value.projectId)) return false;
      pool.gone.add(payload.value.sprintId);
      pool.sprints.delete(payload.value.sprintId);
      for (const [id, item] of pool.items) {
        if (item.sprintId === payload.value.sprintId) pool.items.set(id, { ...item, sprintId: undefined });
      }
      return true;
    case "swimLaneCreated":
    case "swimLaneUpdated": {
      const lane = payload.value.swimLane;
      if (!lane || !inProject(lane.projectId)) return false;
      return putVersioned(pool.lanes, pool.gone, lane.id, lane);
    }
    case "swimLaneDeleted":
      if (!inProject(payload.value.projectId)) return false;
      pool.gone.add(payload.value.swimLaneId);
      pool.lanes.delete(payload.value.swimLaneId);
      return true;
    case "stateCreated":
    case "stateUpdated": {
      const state = payload.value.state;
      if (!state || !inProject(state.projectId)) return false;
      return putVersioned(pool.states, pool.gone, state.id, state);
    }
    case "stateDeleted":
      // Its items moved first, each by its own work_item_updated event.
      if (!inProject(payload.value.projectId)) return false;
      pool.gone.add(payload.value.stateId);
      pool.states.delete(payload.value.stateId);
      return true;
    case "memberAdded":
    case "memberUpdated": {
      const member = payload.value.member;
      if (!member || !inProject(member.projectId)) return false;
      const known = pool.members.get(member.userId);
      if (known === undefined || known.id !== member.id || member.version > known.version) {
        pool.members.set(member.userId, member);
      }
      return true;
    }
    case "memberRemoved":
      if (!inProject(payload.value.projectId)) return false;
      pool.members.delete(payload.value.userId);
      return true;
    case "dependencyCreated": {
      const dep = payload.value.dependency;
      if (!dep || !inProject(dep.projectId) || pool.gone.has(dep.id)) return false;
      pool.dependencies.set(dep.id, dep);
      return true;
    }
    case "dependencyDeleted":
      if (!inProject(payload.value.projectId)) return false;
      pool.gone.add(payload.value.dependencyId);
      pool.dependencies.delete(payload.value.dependencyId);
      return true;
    case "timerStarted": {
      const entry = payload.value.timeEntry;
      if (!entry || !inProject(entry.projectId)) return false;
      const stopped = payload.value.stoppedEntry;
      if (stopped) noteTimeEntry(pool, stopped);
      noteTimeEntry(pool, entry);
      return true;
    }
    case "timeEntryCreated":
    case "timeEntryUpdated": {
      const entry = payload.value.timeEntry;
      if (!entry || !inProject(entry.projectId)) return false;
      noteTimeEntry(pool, entry);
      return true;
    }
    case "timeEntryDeleted": {
      if (!inProject(payload.value.projectId)) return false;
      for (const [user, entry] of pool.timers) {
        if (entry.id === payload.value.timeEntryId) pool.timers.delete(user);
      }
      return true;
    }
    case "blockedChanged": {
      // Derived state, pushed by the server: the board never recomputes the dependency graph.
      if (!inProject(payload.value.projectId)) return false;
      for (const change of payload.value.changes) {
        const item = pool.items.get(change.workItemId);
        if (item) pool.items.set(item.id, { ...item, isBlocked: change.isBlocked });
      }
      return true;
    }
    case "labelCreated":
    case "labelUpdated": {
      const label = payload.value.label;
      if (!label || !inProject(label.projectId)) return false;
      return putVersioned(pool.labels, pool.gone, label.id, label);
    }
    case "labelDeleted": {
      // The server took it off every item in the same change: so does the pool.
      if (!inProject(payload.value.projectId)) return false;
      const gone = payload.value.labelId;
      pool.gone.add(gone);
      pool.labels.delete(gone);
      for (const [id, item] of pool.items) {
        if (item.labels.includes(gone)) pool.items.set(id, { ...item, labels: item.labels.filter((l) => l !== gone) });
      }
      return true;
    }
    case "customFieldCreated":
    case "customFieldUpdated": {
      const field = payload.value.customField;
      if (!field || !inProject(field.projectId)) return false;
      return putVersioned(pool.customFields, pool.gone, field.id, field);
    }
    case "customFieldDeleted": {
      if (!inProject(payload.value.projectId)) return false;
      const gone = payload.value.customFieldId;
      pool.gone.add(gone);
      pool.customFields.delete(gone);
      for (const [id, item] of pool.items) {
        if (gone in item.customFields) {
          const { [gone]: _dropped, ...rest } = item.customFields;
          pool.items.set(id, { ...item, customFields: rest });
        }
      }
      return true;
    }
    case "viewSaved": {
      const view = payload.value.view;
      if (!view || !inProject(view.projectId)) return false;
      return putVersioned(pool.views, pool.gone, view.id, view);
    }
    case "viewDeleted":
      if (!inProject(payload.value.projectId)) return false;
      pool.views.delete(payload.value.viewId);
      return true;
    case "commentCreated":
    case "commentUpdated":
      return payload.value.comment ? inProject(payload.value.comment.projectId) : false;
    case "commentDeleted":
      return inProject(payload.value.projectId);
    default:
      return false;
  }
}

/** Presence as PROTOCOL.md sends it: on subscribing, `users` is everyone viewing; after that,
 * `joined` and `left` are the changes since the last frame. */
export function nextPresence(current: readonly string[], frame: { users: string[]; joined: string[]; left: string[] }): string[] {
  const users = new Set(frame.users.length > 0 ? frame.users : current);
  for (const user of frame.joined) users.add(user);
  for (const user of frame.left) users.delete(user);
  return [...users].sort();
}

/** A running entry becomes its user's timer; a stopped one clears it if it was that timer. */
export function noteTimeEntry(pool: Pool, entry: TimeEntry): void {
  const known = pool.timers.get(entry.userId);
  if (entry.endedAt === undefined) {
    if (known === undefined || known.id === entry.id || entry.startedAt >= known.startedAt) {
      pool.timers.set(entry.userId, entry);
    }
  } else if (known?.id === entry.id) {
    pool.timers.delete(entry.userId);
  }
}

function putVersioned<T extends { version: bigint }>(
  map: Map<string, T>,
  gone: Set<string>,
  id: string,
  next: T,
): boolean {
  if (gone.has(id)) return true; // deleted since: the late event is absorbed
  const known = map.get(id);
  if (known === undefined || next.version > known.version) map.set(id, next);
  return true;
}

function touchedItem(payload: Envelope["payload"]): string | undefined {
  switch (payload.case) {
    case "workItemCreated":
    case "workItemUpdated":
      return payload.value.workItem?.id;
    case "timerStarted":
      return payload.value.timeEntry?.workItemId;
    case "commentCreated":
    case "commentUpdated":
      return payload.value.comment?.workItemId;
    default:
      return undefined;
  }
}
