import { describe, expect, it } from "vitest";
import { applyEvent, applyOwnResponse, fromSnapshot } from "../src/state/pool";
import { blockedChanged, created, deleted, item, presence, response, snapshot, updated } from "./fixtures";

describe("applying events by seq", () => {
  it("applies an event above the snapshot and moves the cursor", () => {
    const pool = fromSnapshot(snapshot([item("a")], 10n));
    expect(applyEvent(pool, updated(11n, item("a", { title: "new", version: 2n })), "alice", 0)).toBe("applied");
    expect(pool.items.get("a")!.title).toBe("new");
    expect(pool.cursor).toBe(11n);
  });

  it("ignores an event the snapshot already holds", () => {
    const pool = fromSnapshot(snapshot([item("a", { title: "in snapshot", version: 3n })], 10n));
    expect(applyEvent(pool, updated(9n, item("a", { title: "older", version: 2n })), "alice", 0)).toBe("duplicate");
    expect(pool.items.get("a")!.title).toBe("in snapshot");
    expect(pool.cursor).toBe(10n);
  });

  it("applies a replayed event once", () => {
    const pool = fromSnapshot(snapshot([], 10n));
    expect(applyEvent(pool, created(11n, item("b")), "alice", 0)).toBe("applied");
    const revision = pool.revision;
    expect(applyEvent(pool, created(11n, item("b")), "alice", 0)).toBe("duplicate");
    expect(pool.revision).toBe(revision);
    expect(pool.items.size).toBe(1);
  });

  it("never lets an older version replace a newer one arriving out of order", () => {
    const pool = fromSnapshot(snapshot([item("a")], 10n));
    applyEvent(pool, updated(13n, item("a", { title: "third", version: 3n })), "alice", 0);
    applyEvent(pool, updated(12n, item("a", { title: "second", version: 2n })), "alice", 0);
    expect(pool.items.get("a")!.title).toBe("third");
    expect(pool.cursor).toBe(13n);
  });

  it("keeps a deleted item deleted when a late update arrives", () => {
    const pool = fromSnapshot(snapshot([item("a")], 10n));
    applyEvent(pool, deleted(12n, "a"), "alice", 0);
    applyEvent(pool, updated(11n, item("a", { version: 2n })), "alice", 0);
    expect(pool.items.has("a")).toBe(false);
  });

  it("ignores another project's events", () => {
    const pool = fromSnapshot(snapshot([], 10n));
    expect(applyEvent(pool, created(11n, item("x", { projectId: "other" })), "alice", 0)).toBe("other-project");
    expect(pool.items.size).toBe(0);
    expect(pool.cursor).toBe(10n);
  });

  it("remembers who else edited an item, not the page's own user", () => {
    const pool = fromSnapshot(snapshot([item("a")], 10n));
    applyEvent(pool, updated(11n, item("a", { version: 2n }), "bob"), "alice", 1234);
    expect(pool.recentEdits.get("a")).toEqual({ userId: "bob", atMs: 1234 });
    applyEvent(pool, updated(12n, item("b", { version: 1n }), "alice"), "alice", 1300);
    expect(pool.recentEdits.has("b")).toBe(false);
  });

  it("records its own response's seq so a replay of it is a no-op, without moving the cursor", () => {
    const pool = fromSnapshot(snapshot([item("a")], 10n));
    applyOwnResponse(pool, response("m1", { case: "workItemUpdated", value: { workItem: item("a", { title: "mine", version: 2n }), changes: [] } } as never, 15n));
    expect(pool.items.get("a")!.title).toBe("mine");
    expect(pool.cursor).toBe(10n);
    expect(applyEvent(pool, updated(15n, item("a", { title: "mine", version: 2n }), "alice"), "alice", 0)).toBe("duplicate");
  });
});

describe("presence", () => {
  it("takes the full set on subscribing, then applies joins and leaves", () => {
    const pool = fromSnapshot(snapshot([]));
    expect(applyEvent(pool, presence({ users: ["bob", "alice"] }), "alice", 0)).toBe("applied");
    expect(pool.presence).toEqual(["alice", "bob"]);
    applyEvent(pool, presence({ joined: ["carol", "dave"], left: ["bob"] }), "alice", 0);
    expect(pool.presence).toEqual(["alice", "carol", "dave"]);
    applyEvent(pool, presence({ left: ["dave"] }), "alice", 0);
    expect(pool.presence).toEqual(["alice", "carol"]);
  });

  it("starts again from a full set (a resubscribe after a reconnect)", () => {
    const pool = fromSnapshot(snapshot([]));
    applyEvent(pool, presence({ users: ["alice", "bob"] }), "alice", 0);
    applyEvent(pool, presence({ users: ["alice"] }), "alice", 0);
    expect(pool.presence).toEqual(["alice"]);
  });

  it("ignores another project's viewers", () => {
    const pool = fromSnapshot(snapshot([]));
    expect(applyEvent(pool, presence({ users: ["eve"] }, "other"), "alice", 0)).toBe("other-project");
    expect(pool.presence).toEqual([]);
  });
});

describe("blocked state pushed by the server", () => {
  it("sets each named item's flag, in seq order like any change", () => {
    const pool = fromSnapshot(snapshot([item("a"), item("b", { isBlocked: true })], 10n));
    expect(applyEvent(pool, blockedChanged(11n, [["a", true], ["b", false]]), "alice", 0)).toBe("applied");
    expect(pool.items.get("a")!.isBlocked).toBe(true);
    expect(pool.items.get("b")!.isBlocked).toBe(false);
    expect(applyEvent(pool, blockedChanged(11n, [["a", false]]), "alice", 0)).toBe("duplicate");
    expect(pool.items.get("a")!.isBlocked).toBe(true);
    expect(pool.cursor).toBe(11n);
  });

  it("skips an item it does not hold and another project's report", () => {
    const pool = fromSnapshot(snapshot([item("a")], 10n));
    applyEvent(pool, blockedChanged(11n, [["gone", true]]), "alice", 0);
    expect(pool.items.has("gone")).toBe(false);
    expect(applyEvent(pool, blockedChanged(12n, [["a", true]], "other"), "alice", 0)).toBe("other-project");
    expect(pool.items.get("a")!.isBlocked).toBe(false);
  });
});
