/**
 * The board's one store: the project list, the open project's pool, this page's pending
 * changes, the connection's state, notes for the person, and a conflict awaiting a choice.
 * Responses and events come in here; views render from here (STYLE.md habit 13).
 *
 * Loading a project: Subscribe first (live events from then on are held back), then the
 * snapshot; held events above the snapshot's as_of_seq are applied after it. Coming back after
 * a dropped connection: Subscribe again (events held back again), then GetChanges from the
 * pool's cursor until nothing is left, then the held events: each change is applied once. If
 * the server no longer has the changes (RESYNC_REQUIRED), the project is loaded again.
 */
import { create } from "@bufbuild/protobuf";
import { WorkItemSchema, type Envelope, type WorkItem } from "../gen/pm_pb";
import { describeError, TEXT } from "../messages";
import { RequestError, type PayloadCase, type Status, type ValueOf } from "../protocol/connection";
import { Inbox } from "./inbox";
import { applyEvent, applyOwnResponse, fromSnapshot, noteTimeEntry, type Pool } from "./pool";
import { type BoardFilter, type FieldInput, wireValue } from "./fields";
import { moveForDrop, placeForDrop, type ItemPatch, type PendingChange } from "./views";

export interface Requester {
  request<C extends PayloadCase>(kind: C, value?: Partial<ValueOf<C>>): Promise<Envelope>;
}

export type BoardStatus = "connecting" | "syncing" | "live" | "offline" | "signed-out";

export interface Note {
  id: number;
  text: string;
  kind: "error" | "info";
}

export interface Conflict {
  itemId: string;
  currentVersion: bigint;
  fields: { field: string; seen?: string | undefined; stored?: string | undefined; attempted?: string | undefined }[];
  attempted: UpdateFields;
}

export interface UpdateFields {
  title?: string;
  description?: string;
  status?: string;
  priority?: string;
  assigneeId?: string; // "" clears
  storyPoints?: number; // -1 clears
  sprintId?: string; // "" clears
}

const CATCH_UP_PAGE = 500;

/** The answer of a bounded list: its rows, has_more, and the cursor that goes on. */
export type Paged<A extends PayloadCase> = ValueOf<A> & { hasMore: boolean; nextCursor?: string | undefined };

export class Board {
  status: BoardStatus = "connecting";
  projects: WorkItem[] = [];
  projectId: string | null = null;
  pool: Pool | null = null;
  pending: PendingChange[] = [];
  notes: Note[] = [];
  conflict: Conflict | null = null;
  loadError: string | null = null;
  discardedEdits = 0;
  private held: Envelope[] = [];
  private syncing = false;
  private nextNote = 1;
  private listeners = new Set<() => void>();
  private eventListeners = new Set<(envelope: Envelope) => void>();
  private itemTurns = new Map<string, Promise<void>>();
  readonly inbox: Inbox;

  constructor(
    private readonly server: Requester,
    readonly userId: string,
    private readonly newId: () => string,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.inbox = new Inbox(server, () => this.changed());
  }

  // -- subscription of views ------------------------------------------------------------

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every event applied to the open project, for views that hold more than the pool
   * (an item's comments and time entries). */
  onProjectEvent(listener: (envelope: Envelope) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  note(text: string, kind: Note["kind"] = "error"): void {
    this.notes = [...this.notes.slice(-4), { id: this.nextNote++, text, kind }];
    this.changed();
  }

  dismiss(id: number): void {
    this.notes = this.notes.filter((n) => n.id !== id);
    this.changed();
  }

  // -- the connection's side -----------------------------------------------------------

  onStatus(status: Status, reconnected: boolean): void {
    if (status === "online") {
      this.status = this.projectId ? "syncing" : "live";
      this.changed();
      void this.inbox.load().catch(() => undefined); // the next connect loads it again
      if (reconnected && this.projectId) void this.catchUp(this.projectId);
      return;
    }
    this.status = status === "connecting" ? (this.status === "offline" ? "offline" : "connecting") : status;
    this.changed();
  }

  onEvent(envelope: Envelope): void {
    if (this.inbox.apply(envelope)) return; // the person's own stream: not the project's
    if (envelope.payload.case === "subscriptionsRevoked") {
      this.revoked(envelope.payload.value.projectIds);
      return;
    }
    if (this.syncing || this.pool === null) {
      if (this.projectId !== null) this.held.push(envelope);
      return;
    }
    this.apply(envelope);
  }

  /** The server took this socket's access to projects away (a membership or role change):
   * the open one closes with a note, and the list is read again. */
  private revoked(projectIds: readonly string[]): void {
    if (this.projectId !== null && projectIds.includes(this.projectId)) {
      this.projectId = null;
      this.pool = null;
      this.held = [];
      this.syncing = false;
      this.loadError = TEXT.accessRevoked;
      this.note(TEXT.accessRevoked);
    }
    this.projects = this.projects.filter((p) => !projectIds.includes(p.id));
    this.changed();
    void this.loadProjects();
  }

  private apply(envelope: Envelope): void {
    if (this.pool === null) return;
    if (applyEvent(this.pool, envelope, this.userId, this.now()) === "applied") {
      for (const listener of this.eventListeners) listener(envelope);
      this.changed();
    }
  }

  // -- projects --------------------------------------------------------------------------

  async loadProjects(): Promise<void> {
    try {
      const pages = await this.allPages("listProjects", {}, "projectsList");
      this.projects = pages.flatMap((page) => page.projects);
      this.changed();
    } catch (error) {
      this.refused(error);
    }
  }

  /** A bounded list in full: the request again from each answer's next_cursor while the
   * server says has_more (every list request takes the cursor of its answer). */
  private async allPages<C extends PayloadCase, A extends PayloadCase>(
    kind: C,
    value: Partial<ValueOf<C>>,
    answer: A,
  ): Promise<Paged<A>[]> {
    const pages: Paged<A>[] = [];
    let cursor: string | undefined;
    do {
      const request = (cursor === undefined ? value : { ...value, cursor }) as Partial<ValueOf<C>>;
      const response = await this.server.request(kind, request);
      if (response.payload.case !== answer) throw new RequestError("INTERNAL", "");
      const page = response.payload.value as Paged<A>;
      pages.push(page);
      cursor = page.hasMore ? page.nextCursor : undefined;
    } while (cursor);
    return pages;
  }

  async createProject(title: string): Promise<WorkItem | null> {
    try {
      const response = await this.server.request("createWorkItem", { itemType: "project", title, id: this.newId() });
      const item = response.payload.case === "workItemCreated" ? response.payload.value.workItem : undefined;
      if (item) this.projects = [...this.projects, item];
      this.changed();
      return item ?? null;
    } catch (error) {
      this.refused(error);
      return null;
    }
  }

  /** Subscribe, then the snapshot; events held meanwhile follow it. Resolves when usable. */
  async openProject(projectId: string): Promise<void> {
    if (this.projectId && this.projectId !== projectId) {
      void this.server.request("unsubscribe", { projectIds: [this.projectId] }).catch(() => undefined);
    }
    this.projectId = projectId;
    this.pool = null;
    this.pending = [];
    this.loadError = null;
    this.held = [];
    this.syncing = true;
    this.changed();
    try {
      // Both at once: the server serves a socket's requests in order, so the subscription is
      // in place before the snapshot is read, and one round trip is saved.
      const subscribed = this.server.request("subscribe", { projectIds: [projectId] });
      const snapshot = this.server.request("getProject", { projectId });
      await Promise.all([subscribed, snapshot]);
      await this.useSnapshot(projectId, await snapshot);
    } catch (error) {
      this.syncing = false;
      this.loadError = error instanceof RequestError ? describeError({ code: error.code, message: error.detail }) : TEXT.connection.offline;
      this.changed();
    }
  }

  private async loadSnapshot(projectId: string): Promise<void> {
    await this.useSnapshot(projectId, await this.server.request("getProject", { projectId }));
  }

  /** The snapshot, and the rest of the project's items when its bounds cut them (has_more:
   * GetWorkItems pages on from next_cursor); events held meanwhile follow. */
  private async useSnapshot(projectId: string, response: Envelope): Promise<void> {
    if (response.payload.case !== "projectSnapshot" || this.projectId !== projectId) return;
    const snapshot = response.payload.value;
    const pool = fromSnapshot(snapshot);
    let cursor = snapshot.hasMore ? snapshot.nextCursor : undefined;
    while (cursor) {
      const page = await this.server.request("getWorkItems", { projectId, cursor });
      if (page.payload.case !== "workItemsList" || this.projectId !== projectId) return;
      for (const item of page.payload.value.workItems) pool.items.set(item.id, item);
      cursor = page.payload.value.hasMore ? page.payload.value.nextCursor : undefined;
    }
    if (snapshot.membersNextCursor) {
      const rest = await this.allPages("listMembers", { projectId, cursor: snapshot.membersNextCursor }, "membersList");
      if (this.projectId !== projectId) return;
      for (const member of rest.flatMap((page) => page.members)) pool.members.set(member.userId, member);
    }
    mark("pm:snapshot-received");
    this.pool = pool;
    this.releaseHeld();
    this.status = "live";
    this.changed();
  }

  private releaseHeld(): void {
    const held = this.held;
    this.held = [];
    this.syncing = false;
    for (const envelope of held) this.apply(envelope);
  }

  /** Back after a dropped connection: everything missed, once, in order. */
  async catchUp(projectId: string): Promise<void> {
    this.syncing = true;
    this.held = [];
    try {
      await this.server.request("subscribe", { projectIds: [projectId] });
      if (this.pool === null) {
        await this.loadSnapshot(projectId);
        return;
      }
      let caught = 0;
      for (;;) {
        const response = await this.server.request("getChanges", {
          sinceSeq: this.pool.cursor,
          projectIds: [projectId],
          limit: CATCH_UP_PAGE,
        });
        if (response.payload.case !== "changes") break;
        const { events, hasMore, asOfSeq } = response.payload.value;
        for (const event of events) {
          if (this.inbox.apply(event)) continue;
          const before = this.pool.revision;
          this.apply(event);
          if (this.pool.revision !== before) caught += 1;
        }
        if (asOfSeq > this.pool.cursor) this.pool.cursor = asOfSeq;
        if (!hasMore || events.length === 0) break;
      }
      this.releaseHeld();
      this.status = "live";
      this.note(TEXT.connection.caughtUp(caught), "info");
    } catch (error) {
      if (error instanceof RequestError && error.code === "RESYNC_REQUIRED") {
        await this.openProject(projectId);
        this.note(TEXT.connection.resynced, "info");
        return;
      }
      this.syncing = false; // the connection dropped again: the next reconnect retries
    }
  }

  // -- commands --------------------------------------------------------------------------

  /** Send a command with an optional optimistic change; on refusal the change is withdrawn
   * and the person is told why. Returns the response, or null if refused. */
  async command<C extends PayloadCase>(
    kind: C,
    value: Partial<ValueOf<C>>,
    optimistic?: Omit<PendingChange, "id">,
    onRefused: (reason: string) => string = (reason) => reason,
  ): Promise<Envelope | null> {
    const change = optimistic ? { ...optimistic, id: this.newId() } : undefined;
    if (change) {
      this.pending = [...this.pending, change];
      this.changed();
    }
    try {
      const itemId = optimistic?.itemId;
      const response = await this.inTurn(itemId, () => this.server.request(kind, this.onOwnLatest(value)));
      if (this.pool) {
        applyOwnResponse(this.pool, response);
        for (const listener of this.eventListeners) listener(response);
      }
      return response;
    } catch (error) {
      this.refused(error, onRefused);
      return null;
    } finally {
      if (change) this.pending = this.pending.filter((p) => p.id !== change.id);
      this.changed();
    }
  }

  /** Every page of a bounded list (an item's comments, time entries, dependencies), or the
   * refusal, for a view that shows it itself. */
  async attemptAll<C extends PayloadCase, A extends PayloadCase>(
    kind: C,
    value: Partial<ValueOf<C>>,
    answer: A,
  ): Promise<Paged<A>[] | RequestError> {
    try {
      return await this.allPages(kind, value, answer);
    } catch (error) {
      return error instanceof RequestError ? error : new RequestError("INTERNAL", "");
    }
  }

  /** A request whose refusal the caller shows itself (a cycle's path, say); events and
   * responses still reach the pool. */
  async attempt<C extends PayloadCase>(kind: C, value: Partial<ValueOf<C>>): Promise<Envelope | RequestError> {
    try {
      const response = await this.server.request(kind, value);
      if (this.pool) {
        applyOwnResponse(this.pool, response);
        for (const listener of this.eventListeners) listener(response);
        this.changed();
      }
      return response;
    } catch (error) {
      return error instanceof RequestError ? error : new RequestError("INTERNAL", "");
    }
  }

  private refused(error: unknown, wrap: (reason: string) => string = (r) => r): void {
    if (error instanceof RequestError) {
      this.note(wrap(describeError({ code: error.code, message: error.detail })));
    } else {
      this.note(wrap(describeError({ code: "INTERNAL", message: "" })));
    }
  }

  /** A card dropped into a lane at an index: shown there at once, confirmed or undone. */
  move(card: WorkItem, laneStatus: string, laneCards: readonly WorkItem[], index: number): Promise<Envelope | null> {
    const request = moveForDrop(card, laneStatus, laneCards, index);
    const patch: ItemPatch = request.status ? { status: request.status } : {};
    return this.command(
      "moveWorkItem",
      request,
      { itemId: card.id, patch, place: placeForDrop(laneCards, card.id, index) },
      TEXT.moveRolledBack,
    );
  }

  /** An edit made on top of `baseVersion`; a collision opens the conflict choice. */
  async updateItem(itemId: string, baseVersion: bigint, fields: UpdateFields): Promise<boolean> {
    const patch = patchOf(fields);
    this.pending = [...this.pending, { id: `edit-${itemId}`, itemId, patch }];
    this.changed();
    try {
      const response = await this.inTurn(itemId, () =>
        this.server.request("updateWorkItem", {
          workItemId: itemId,
          expectedVersion: this.ownLatestVersion(itemId, baseVersion),
          ...fields,
        }),
      );
      if (this.pool) applyOwnResponse(this.pool, response);
      return true;
    } catch (error) {
      if (error instanceof RequestError && error.code === "CONFLICT" && error.conflicts.length > 0) {
        this.conflict = {
          itemId,
          currentVersion: error.currentVersion ?? baseVersion,
          fields: error.conflicts,
          attempted: fields,
        };
      } else {
        this.refused(error, TEXT.changeRolledBack);
      }
      return false;
    } finally {
      this.pending = this.pending.filter((p) => p.id !== `edit-${itemId}`);
      this.changed();
    }
  }

  /**
   * One item's commands reach the server one after another, in the order the person made
   * them: a delete clicked while the same person's re-parent is still on its way waits for its
   * answer (sent at once, it would carry the version before the re-parent and be refused).
   */
  private inTurn<T>(itemId: string | undefined, send: () => Promise<T>): Promise<T> {
    if (itemId === undefined) return send();
    const previous = this.itemTurns.get(itemId);
    const turn = previous === undefined ? send() : previous.then(send);
    const done = turn.then(
      () => undefined,
      () => undefined,
    );
    this.itemTurns.set(itemId, done);
    void done.then(() => {
      if (this.itemTurns.get(itemId) === done) this.itemTurns.delete(itemId);
    });
    return turn;
  }

  /** The version to send for an edit made on `seen`: the item's newer version if this person
   * made it (their own earlier command), else `seen`, so another person's change in between
   * still meets the server's conflict rules. */
  private ownLatestVersion(itemId: string, seen: bigint): bigint {
    const stored = this.pool?.items.get(itemId);
    return stored !== undefined && stored.version > seen && stored.updatedBy === this.userId ? stored.version : seen;
  }

  private onOwnLatest<V extends object>(value: V): V {
    const { workItemId, expectedVersion } = value as { workItemId?: unknown; expectedVersion?: unknown };
    if (typeof workItemId !== "string" || typeof expectedVersion !== "bigint") return value;
    return { ...value, expectedVersion: this.ownLatestVersion(workItemId, expectedVersion) };
  }

  /** The person chose, per colliding field, "mine" (write what they tried) or "theirs". */
  async resolveConflict(choices: Record<string, "mine" | "theirs">): Promise<void> {
    const conflict = this.conflict;
    if (conflict === null) return;
    this.conflict = null;
    const colliding = new Set(conflict.fields.map((f) => f.field));
    const fields: UpdateFields = {};
    for (const [key, value] of Object.entries(conflict.attempted) as [keyof UpdateFields, never][]) {
      const wire = WIRE_NAMES[key];
      if (!colliding.has(wire) || choices[wire] === "mine") fields[key] = value;
    }
    this.changed();
    if (Object.keys(fields).length > 0) await this.updateItem(conflict.itemId, conflict.currentVersion, fields);
  }

  /** The person dropped their edit instead of choosing: editors reset to what is stored. */
  dismissConflict(): void {
    this.conflict = null;
    this.discardedEdits += 1;
    this.changed();
  }

  // -- labels, custom fields, views -----------------------------------------------------

  /** Labels on or off an item and custom field values: sets and per-field values, which merge
   * with anyone's other change at the version the person saw. */
  async setItemExtras(
    item: WorkItem,
    change: { addLabels?: string[]; removeLabels?: string[]; customFields?: Record<string, FieldInput> },
  ): Promise<boolean> {
    const customFields = Object.fromEntries(
      Object.entries(change.customFields ?? {}).map(([id, input]) => [id, wireValue(input)]),
    );
    const response = await this.command(
      "updateWorkItem",
      {
        workItemId: item.id,
        expectedVersion: this.ownLatestVersion(item.id, item.version),
        addLabels: change.addLabels ?? [],
        removeLabels: change.removeLabels ?? [],
        customFields,
      } as Partial<ValueOf<"updateWorkItem">>,
      undefined,
      TEXT.changeRolledBack,
    );
    return response !== null;
  }

  /** The ids of the project's items a filter keeps, evaluated by the server's search (the
   * query code saved views run on), every page of it. */
  async matchingIds(filter: BoardFilter): Promise<Set<string> | RequestError> {
    const pool = this.pool;
    if (pool === null || filter.kind === "all") return new Set();
    const spec = filter.kind === "label" ? { projectId: pool.project.id, labels: [filter.labelId] } : { viewId: filter.viewId };
    const ids = new Set<string>();
    let cursor: string | undefined;
    try {
      do {
        const response = await this.server.request("searchWorkItems", { ...spec, limit: CATCH_UP_PAGE, cursor });
        if (response.payload.case !== "searchResults") throw new RequestError("INTERNAL", "");
        for (const hit of response.payload.value.hits) if (hit.workItem) ids.add(hit.workItem.id);
        cursor = response.payload.value.nextCursor;
      } while (cursor);
    } catch (error) {
      return error instanceof RequestError ? error : new RequestError("INTERNAL", "");
    }
    return ids;
  }

  /** The board's label filter kept as a saved view of the person's own. */
  async saveLabelView(name: string, labelId: string): Promise<string | null> {
    const pool = this.pool;
    if (pool === null) return null;
    const response = await this.command("saveView", {
      projectId: pool.project.id,
      name,
      filters: { labels: [labelId] },
      shared: false,
    } as Partial<ValueOf<"saveView">>);
    return response?.payload.case === "viewSaved" ? (response.payload.value.view?.id ?? null) : null;
  }

  async createItem(init: {
    itemType: string;
    parentId: string;
    title: string;
    status?: string;
    sprintId?: string;
  }): Promise<Envelope | null> {
    const pool = this.pool;
    if (pool === null) return null;
    const id = this.newId();
    const provisional = create(WorkItemSchema, {
      id,
      itemType: init.itemType,
      projectId: pool.project.id,
      parentId: init.parentId,
      title: init.title,
      description: "",
      status: init.status ?? "backlog",
      priority: "medium",
      sprintId: init.sprintId,
      position: "~", // after every real key until the server gives it one
      version: 0n,
      isBlocked: false,
      createdAt: BigInt(this.now()),
      createdBy: this.userId,
      updatedAt: BigInt(this.now()),
      updatedBy: this.userId,
    });
    return this.command("createWorkItem", { id, ...init }, { itemId: id, created: provisional });
  }

  deleteItem(item: WorkItem): Promise<Envelope | null> {
    return this.command(
      "deleteWorkItem",
      { workItemId: item.id, expectedVersion: item.version },
      { itemId: item.id, removed: true },
      TEXT.changeRolledBack,
    );
  }

  /** What an item's detail learned about running timers (GetTimeEntries). */
  noteTimers(entries: Parameters<typeof noteTimeEntry>[1][]): void {
    if (this.pool === null) return;
    for (const entry of entries) noteTimeEntry(this.pool, entry);
    this.pool.revision += 1;
    this.changed();
  }
}

const WIRE_NAMES: Record<keyof UpdateFields, string> = {
  title: "title",
  description: "description",
  status: "status",
  priority: "priority",
  assigneeId: "assignee_id",
  storyPoints: "story_points",
  sprintId: "sprint_id",
};

function patchOf(fields: UpdateFields): ItemPatch {
  const patch: ItemPatch = {};
  if (fields.title !== undefined) patch.title = fields.title;
  if (fields.description !== undefined) patch.description = fields.description;
  if (fields.status !== undefined) patch.status = fields.status;
  if (fields.priority !== undefined) patch.priority = fields.priority;
  if (fields.assigneeId !== undefined) patch.assigneeId = fields.assigneeId || undefined;
  if (fields.storyPoints !== undefined) patch.storyPoints = fields.storyPoints < 0 ? undefined : fields.storyPoints;
  if (fields.sprintId !== undefined) patch.sprintId = fields.sprintId || undefined;
  return patch;
}

/** A point on Chromium's own timeline (bench/bench_board.py reads them); nothing else uses it. */
function mark(name: string): void {
  if (typeof performance !== "undefined" && typeof performance.mark === "function") performance.mark(name);
}
