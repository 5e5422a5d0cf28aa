import { describe, expect, it } from "vitest";
import { applyEvent, fromSnapshot } from "../src/state/pool";
import { columns, orderedStates, placeAfter, stateName } from "../src/state/views";
import { item, snapshot, state, stateDeleted, stateSaved, updated } from "./fixtures";

const names = (pool: ReturnType<typeof fromSnapshot>) => columns(pool, []).map((c) => c.state.name);

describe("the board's columns are the project's states", () => {
  it("shows a column per state in order, the backlog-category ones left to the Backlog view", () => {
    const pool = fromSnapshot(snapshot([item("a", { status: "todo" }), item("b", { status: "backlog" })]));
    expect(names(pool)).toEqual(["To Do", "Done"]);
    expect(columns(pool, [])[0]!.cards.map((c) => c.id)).toEqual(["a"]);
  });

  it("adds a column live when a state is created, where its position puts it", () => {
    const pool = fromSnapshot(snapshot([]));
    applyEvent(pool, stateSaved(11n, state("s3", "qa", "QA", "review", "P"), "stateCreated"), "alice", 0);
    expect(names(pool)).toEqual(["To Do", "QA", "Done"]);
    applyEvent(pool, updated(12n, item("a", { status: "qa", version: 2n })), "alice", 0);
    expect(columns(pool, [])[1]!.cards.map((c) => c.id)).toEqual(["a"]);
  });

  it("renames and reorders a column, never back to an older version", () => {
    const pool = fromSnapshot(snapshot([]));
    applyEvent(pool, stateSaved(11n, state("s1", "todo", "Next", "unstarted", "Z", 3n)), "alice", 0);
    applyEvent(pool, stateSaved(12n, state("s1", "todo", "Stale", "unstarted", "K", 2n)), "alice", 0);
    expect(names(pool)).toEqual(["Done", "Next"]);
    expect(stateName(pool, "todo")).toBe("Next");
  });

  it("drops the column of a deleted state, and a late update can't bring it back", () => {
    const pool = fromSnapshot(snapshot([]));
    applyEvent(pool, stateDeleted(12n, "s1", "done"), "alice", 0);
    applyEvent(pool, stateSaved(11n, state("s1", "todo", "Late", "unstarted", "K", 2n)), "alice", 0);
    expect(names(pool)).toEqual(["Done"]);
    expect(stateName(pool, "todo")).toBe("todo");
  });

  it("ignores states of another project", () => {
    const pool = fromSnapshot(snapshot([]));
    const other = { ...state("x", "qa", "QA", "review", "P"), projectId: "p2" };
    expect(applyEvent(pool, stateSaved(11n, other, "stateCreated"), "alice", 0)).toBe("other-project");
    expect(names(pool)).toEqual(["To Do", "Done"]);
  });
});

describe("moving a state up", () => {
  it("goes after the one before its new place, or before the first", () => {
    const states = orderedStates(fromSnapshot(snapshot([])));
    expect(placeAfter(states, 0)).toEqual({ afterId: "s0" });
    expect(placeAfter(states, -1)).toEqual({ beforeId: "s0" });
  });
});
