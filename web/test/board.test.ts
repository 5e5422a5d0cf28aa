import { describe, expect, it } from "vitest";
import type { Envelope } from "../src/gen/pm_pb";
import { RequestError, type PayloadCase } from "../src/protocol/connection";
import { Board, type Requester } from "../src/state/board";
import { columns } from "../src/state/views";
import { created, item, response, snapshot, updated } from "./fixtures";

interface Call {
  kind: PayloadCase;
  value: Record<string, unknown>;
  resolve: (e: Envelope) => void;
  reject: (e: RequestError) => void;
}

/** A server whose answers the test gives, one request at a time. */
class FakeServer implements Requester {
  calls: Call[] = [];
  request(kind: PayloadCase, value: object = {}): Promise<Envelope> {
    return new Promise((resolve, reject) => this.calls.push({ kind, value: value as Record<string, unknown>, resolve, reject }));
  }
  next(kind: PayloadCase): Call {
    const index = this.calls.findIndex((c) => c.kind === kind);
    if (index < 0) throw new Error(`no ${kind} request; got ${this.calls.map((c) => c.kind).join(", ")}`);
    return this.calls.splice(index, 1)[0]!;
  }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
let ids = 0;
const newId = () => `id${++ids}`;

async function openBoard(items = [item("a", { position: "a" }), item("b", { position: "b" })], asOf = 10n) {
  const server = new FakeServer();
  const board = new Board(server, "alice", newId, () => 1000);
  const opened = board.openProject("p1");
  server.next("subscribe").resolve(response("s", { case: "subscribed", value: { projectIds: ["p1"], currentSeq: asOf } } as never));
  await tick();
  return { server, board, opened, snapshotCall: server.next("getProject"), asOf, items };
}

describe("loading a project", () => {
  it("holds events that arrive before the snapshot and applies those above it once", async () => {
    const { board, opened, snapshotCall, items } = await openBoard();
    board.onEvent(updated(9n, item("a", { title: "already in snapshot", version: 2n })));
    board.onEvent(created(11n, item("c", { position: "c" })));
    expect(board.pool).toBeNull();
    snapshotCall.resolve(response("g", { case: "projectSnapshot", value: snapshot(items, 10n) } as never));
    await opened;
    expect([...board.pool!.items.keys()].sort()).toEqual(["a", "b", "c"]);
    expect(board.pool!.items.get("a")!.title).toBe("a");
    expect(board.pool!.cursor).toBe(11n);
    expect(board.status).toBe("live");
  });
});

describe("optimistic apply and rollback", () => {
  async function loaded() {
    const ctx = await openBoard();
    ctx.snapshotCall.resolve(response("g", { case: "projectSnapshot", value: snapshot(ctx.items, 10n) } as never));
    await ctx.opened;
    return ctx;
  }

  it("shows a dragged card in its new lane at once and keeps it there when confirmed", async () => {
    const { board, server } = await loaded();
    const card = board.pool!.items.get("a")!;
    const moving = board.move(card, "done", [], 0);
    expect(columns(board.pool!, board.pending)[1]!.cards.map((c) => c.id)).toEqual(["a"]);
    const call = server.next("moveWorkItem");
    expect(call.value).toMatchObject({ workItemId: "a", expectedVersion: 1n, status: "done" });
    call.resolve(response("m", { case: "workItemUpdated", value: { workItem: item("a", { status: "done", version: 2n }), changes: [] } } as never, 12n));
    await moving;
    expect(board.pending).toEqual([]);
    expect(columns(board.pool!, board.pending)[1]!.cards.map((c) => c.id)).toEqual(["a"]);
    expect(board.notes).toEqual([]);
  });

  it("puts a refused move back and says why in words", async () => {
    const { board, server } = await loaded();
    const card = board.pool!.items.get("a")!;
    const moving = board.move(card, "done", [], 0);
    server.next("moveWorkItem").reject(new RequestError("FORBIDDEN", "you are a viewer of this project"));
    await moving;
    const [todo, done] = columns(board.pool!, board.pending);
    expect(todo!.cards.map((c) => c.id)).toEqual(["a", "b"]);
    expect(done!.cards).toEqual([]);
    expect(board.notes.map((n) => n.text)).toEqual([
      "The move was undone. You don't have permission to do that: you are a viewer of this project.",
    ]);
  });

  it("places a card within its lane after the card it was dropped under", async () => {
    const { board, server } = await loaded();
    const [todo] = columns(board.pool!, board.pending);
    const a = board.pool!.items.get("a")!;
    void board.move(a, "todo", todo!.cards, 1);
    expect(columns(board.pool!, board.pending)[0]!.cards.map((c) => c.id)).toEqual(["b", "a"]);
    expect(server.next("moveWorkItem").value).toMatchObject({ workItemId: "a", afterId: "b" });
  });

  it("sends a delete clicked during the person's own re-parent after it, on the version it left", async () => {
    const { board, server } = await loaded();
    const a = board.pool!.items.get("a")!;
    const moving = board.command("moveWorkItem", { workItemId: "a", expectedVersion: 1n, parentId: "epic1" }, { itemId: "a", patch: { parentId: "epic1" } });
    const deleting = board.deleteItem(a);
    await tick();
    expect(server.calls.map((c) => c.kind)).toEqual(["moveWorkItem"]);
    server.next("moveWorkItem").resolve(response("m", { case: "workItemUpdated", value: { workItem: item("a", { parentId: "epic1", version: 2n, updatedBy: "alice" }), changes: [] } } as never, 12n));
    await moving;
    await tick();
    expect(server.next("deleteWorkItem").value).toEqual({ workItemId: "a", expectedVersion: 2n });
    void deleting;
  });

  it("keeps the version the person saw when someone else changed the item meanwhile", async () => {
    const { board, server } = await loaded();
    const a = board.pool!.items.get("a")!;
    board.onEvent(updated(11n, item("a", { title: "bob's", version: 2n, updatedBy: "bob" })));
    void board.deleteItem(a);
    expect(server.next("deleteWorkItem").value).toEqual({ workItemId: "a", expectedVersion: 1n });
  });

  it("withdraws a provisional new card when the create is refused", async () => {
    const { board, server } = await loaded();
    const creating = board.createItem({ itemType: "task", parentId: "story1", title: "", status: "todo" });
    expect(columns(board.pool!, board.pending)[0]!.cards).toHaveLength(3);
    // a card can draw it: no labels and no values yet, not missing ones
    const drawn = columns(board.pool!, board.pending)[0]!.cards.find((card) => card.version === 0n)!;
    expect([drawn.labels, drawn.customFields]).toEqual([[], {}]);
    server.next("createWorkItem").reject(new RequestError("VALIDATION_ERROR", "title must be 1 to 200 characters", "title"));
    await creating;
    expect(columns(board.pool!, board.pending)[0]!.cards).toHaveLength(2);
    expect(board.notes[0]!.text).toBe("That change isn't accepted: title must be 1 to 200 characters.");
  });
});

describe("catch-up after a gap", () => {
  it("fetches what was missed from the cursor, then the events held meanwhile, each once", async () => {
    const ctx = await openBoard();
    ctx.snapshotCall.resolve(response("g", { case: "projectSnapshot", value: snapshot(ctx.items, 10n) } as never));
    await ctx.opened;
    const { board, server } = ctx;
    board.onEvent(updated(11n, item("a", { title: "live before the drop", version: 2n })));
    board.onStatus("offline", false);
    board.onStatus("online", true);
    expect(board.status).toBe("syncing");
    server.next("subscribe").resolve(response("s2", { case: "subscribed", value: { projectIds: ["p1"], currentSeq: 14n } } as never));
    await tick();
    // A live event arrives while the catch-up is in flight: held until the missed ones are in.
    board.onEvent(updated(15n, item("b", { title: "live after reconnect", version: 3n })));
    const changes = server.next("getChanges");
    expect(changes.value).toMatchObject({ sinceSeq: 11n, projectIds: ["p1"] });
    changes.resolve(
      response("c", {
        case: "changes",
        value: {
          events: [
            updated(11n, item("a", { title: "live before the drop", version: 2n })),
            updated(13n, item("b", { title: "missed", version: 2n })),
            created(14n, item("d", { position: "d" })),
          ],
          asOfSeq: 14n,
          hasMore: false,
        },
      } as never),
    );
    await tick();
    expect(board.status).toBe("live");
    expect(board.pool!.items.get("b")!.title).toBe("live after reconnect");
    expect(board.pool!.items.has("d")).toBe(true);
    expect(board.pool!.cursor).toBe(15n);
    expect(board.notes.at(-1)!.text).toBe("Back online; caught up on 2 changes.");
  });

  it("pages through a long gap until the server has no more", async () => {
    const ctx = await openBoard();
    ctx.snapshotCall.resolve(response("g", { case: "projectSnapshot", value: snapshot(ctx.items, 10n) } as never));
    await ctx.opened;
    const { board, server } = ctx;
    board.onStatus("online", true);
    server.next("subscribe").resolve(response("s2", { case: "subscribed", value: { projectIds: ["p1"], currentSeq: 13n } } as never));
    await tick();
    server.next("getChanges").resolve(response("c1", { case: "changes", value: { events: [created(12n, item("x"))], asOfSeq: 12n, hasMore: true } } as never));
    await tick();
    const second = server.next("getChanges");
    expect(second.value).toMatchObject({ sinceSeq: 12n });
    second.resolve(response("c2", { case: "changes", value: { events: [created(13n, item("y"))], asOfSeq: 13n, hasMore: false } } as never));
    await tick();
    expect([...board.pool!.items.keys()]).toEqual(expect.arrayContaining(["x", "y"]));
  });

  it("reloads the project when the server says the gap is too old", async () => {
    const ctx = await openBoard();
    ctx.snapshotCall.resolve(response("g", { case: "projectSnapshot", value: snapshot(ctx.items, 10n) } as never));
    await ctx.opened;
    const { board, server } = ctx;
    board.onStatus("online", true);
    server.next("subscribe").resolve(response("s2", { case: "subscribed", value: { projectIds: ["p1"], currentSeq: 99n } } as never));
    await tick();
    server.next("getChanges").reject(new RequestError("RESYNC_REQUIRED", "events before seq 50 are gone"));
    await tick();
    server.next("subscribe").resolve(response("s3", { case: "subscribed", value: { projectIds: ["p1"], currentSeq: 99n } } as never));
    await tick();
    server.next("getProject").resolve(response("g2", { case: "projectSnapshot", value: snapshot([item("fresh")], 99n) } as never));
    await tick();
    await tick();
    expect([...board.pool!.items.keys()]).toEqual(["fresh"]);
    expect(board.notes.at(-1)!.text).toBe("Back online; the project was reloaded.");
  });
});

describe("conflict handling", () => {
  async function loaded() {
    const ctx = await openBoard();
    ctx.snapshotCall.resolve(response("g", { case: "projectSnapshot", value: snapshot(ctx.items, 10n) } as never));
    await ctx.opened;
    return ctx;
  }

  it("offers the three values of a colliding field and resends the person's choice on the current version", async () => {
    const { board, server } = await loaded();
    const saving = board.updateItem("a", 1n, { title: "mine", priority: "high" });
    server.next("updateWorkItem").reject(
      new RequestError("CONFLICT", "title changed since version 1", "title", 3n, [
        { field: "title", seen: "a", stored: "theirs", attempted: "mine" },
      ]),
    );
    expect(await saving).toBe(false);
    expect(board.conflict).toMatchObject({ itemId: "a", currentVersion: 3n });
    expect(board.conflict!.fields[0]).toEqual({ field: "title", seen: "a", stored: "theirs", attempted: "mine" });
    expect(board.notes).toEqual([]);
    const resolving = board.resolveConflict({ title: "mine" });
    const resent = server.next("updateWorkItem");
    expect(resent.value).toEqual({ workItemId: "a", expectedVersion: 3n, title: "mine", priority: "high" });
    resent.resolve(response("u", { case: "workItemUpdated", value: { workItem: item("a", { title: "mine", version: 4n }), changes: [] } } as never, 20n));
    await resolving;
    expect(board.conflict).toBeNull();
    expect(board.pool!.items.get("a")!.title).toBe("mine");
  });

  it("keeps the stored value and still sends the fields that did not collide", async () => {
    const { board, server } = await loaded();
    const saving = board.updateItem("a", 1n, { title: "mine", priority: "high" });
    server.next("updateWorkItem").reject(
      new RequestError("CONFLICT", "title changed", "title", 3n, [{ field: "title", seen: "a", stored: "theirs", attempted: "mine" }]),
    );
    await saving;
    void board.resolveConflict({ title: "theirs" });
    expect(server.next("updateWorkItem").value).toEqual({ workItemId: "a", expectedVersion: 3n, priority: "high" });
  });

  it("discarding the edit sends nothing and tells editors to reset", async () => {
    const { board, server } = await loaded();
    const saving = board.updateItem("a", 1n, { title: "mine" });
    server.next("updateWorkItem").reject(
      new RequestError("CONFLICT", "title changed", "title", 3n, [{ field: "title", seen: "a", stored: "theirs", attempted: "mine" }]),
    );
    await saving;
    const before = board.discardedEdits;
    board.dismissConflict();
    expect(board.conflict).toBeNull();
    expect(board.discardedEdits).toBe(before + 1);
    expect(server.calls).toEqual([]);
  });

  it("shows the edit at once and withdraws it when refused for another reason", async () => {
    const { board, server } = await loaded();
    const saving = board.updateItem("a", 1n, { title: "x".repeat(201) });
    expect(columns(board.pool!, board.pending)[0]!.cards[0]!.title).toBe("x".repeat(201));
    server.next("updateWorkItem").reject(new RequestError("VALIDATION_ERROR", "title is too long", "title"));
    await saving;
    expect(columns(board.pool!, board.pending)[0]!.cards[0]!.title).toBe("a");
    expect(board.notes[0]!.text).toBe("The change was undone. That change isn't accepted: title is too long.");
  });
});

describe("the server's bounds and revocations", () => {
  it("pages the rest of a project's items when the snapshot says has_more", async () => {
    const { board, server, opened, snapshotCall } = await openBoard();
    const cut = { ...snapshot([item("a", { position: "a" })], 10n), hasMore: true, nextCursor: "c1" };
    snapshotCall.resolve(response("g", { case: "projectSnapshot", value: cut } as never));
    await tick();
    const page = server.next("getWorkItems");
    expect(page.value).toMatchObject({ projectId: "p1", cursor: "c1" });
    page.resolve(
      response("w", { case: "workItemsList", value: { workItems: [item("b", { position: "b" })], asOfSeq: 10n, hasMore: false } } as never),
    );
    await opened;
    expect([...board.pool!.items.keys()].sort()).toEqual(["a", "b"]);
    expect(board.status).toBe("live");
  });

  it("completes the snapshot's members with ListMembers pages from members_next_cursor", async () => {
    const { board, server, opened, snapshotCall, items } = await openBoard();
    const member = (userId: string) => ({ id: `m-${userId}`, projectId: "p1", userId, role: "viewer", version: 1n });
    const cut = { ...snapshot(items, 10n), members: [member("alice")], hasMore: true, membersNextCursor: "m1" };
    snapshotCall.resolve(response("g", { case: "projectSnapshot", value: cut } as never));
    await tick();
    const first = server.next("listMembers");
    expect(first.value).toMatchObject({ projectId: "p1", cursor: "m1" });
    first.resolve(response("l1", { case: "membersList", value: { members: [member("bob")], hasMore: true, nextCursor: "m2" } } as never));
    await tick();
    const second = server.next("listMembers");
    expect(second.value).toMatchObject({ projectId: "p1", cursor: "m2" });
    second.resolve(response("l2", { case: "membersList", value: { members: [member("carol")], hasMore: false } } as never));
    await opened;
    expect([...board.pool!.members.keys()].sort()).toEqual(["alice", "bob", "carol"]);
    expect(board.status).toBe("live");
  });

  it("reads every page of the project list", async () => {
    const server = new FakeServer();
    const board = new Board(server, "alice", newId, () => 1000);
    const loading = board.loadProjects();
    const project = (id: string) => item(id, { itemType: "project", parentId: undefined });
    server.next("listProjects").resolve(response("p1", { case: "projectsList", value: { projects: [project("x")], hasMore: true, nextCursor: "c" } } as never));
    await tick();
    const more = server.next("listProjects");
    expect(more.value).toMatchObject({ cursor: "c" });
    more.resolve(response("p2", { case: "projectsList", value: { projects: [project("y")], hasMore: false } } as never));
    await loading;
    expect(board.projects.map((p) => p.id)).toEqual(["x", "y"]);
  });

  it("gives a view every page of an item's list, or the refusal", async () => {
    const { board, server, opened, snapshotCall, items } = await openBoard();
    snapshotCall.resolve(response("g", { case: "projectSnapshot", value: snapshot(items, 10n) } as never));
    await opened;
    const comment = (id: string) => ({ id, workItemId: "a", projectId: "p1", content: id, version: 1n });
    const all = board.attemptAll("getComments", { workItemId: "a" }, "commentsList");
    await tick();
    server.next("getComments").resolve(response("c1", { case: "commentsList", value: { comments: [comment("k1")], hasMore: true, nextCursor: "n" } } as never));
    await tick();
    const next = server.next("getComments");
    expect(next.value).toMatchObject({ workItemId: "a", cursor: "n" });
    next.resolve(response("c2", { case: "commentsList", value: { comments: [comment("k2")], hasMore: false } } as never));
    const pages = await all;
    expect(pages instanceof RequestError ? pages : pages.flatMap((p) => p.comments.map((c) => c.id))).toEqual(["k1", "k2"]);

    const refused = board.attemptAll("getComments", { workItemId: "a" }, "commentsList");
    await tick();
    server.next("getComments").resolve(response("c3", { case: "commentsList", value: { comments: [comment("k1")], hasMore: true, nextCursor: "n" } } as never));
    await tick();
    server.next("getComments").reject(new RequestError("NOT_FOUND", "work item not found"));
    expect(await refused).toMatchObject({ code: "NOT_FOUND" });
  });

  it("closes the open project and says so when its subscription is revoked", async () => {
    const { board, server, opened, snapshotCall, items } = await openBoard();
    snapshotCall.resolve(response("g", { case: "projectSnapshot", value: snapshot(items, 10n) } as never));
    await opened;
    board.onEvent(response("", { case: "subscriptionsRevoked", value: { projectIds: ["p1"], reason: "access_changed" } } as never));
    expect(board.pool).toBeNull();
    expect(board.projectId).toBeNull();
    expect(board.loadError).toBe("You no longer have access to this project.");
    expect(server.calls.map((c) => c.kind)).toContain("listProjects");
  });
});
