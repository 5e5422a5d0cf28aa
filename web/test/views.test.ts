import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { DependencySchema } from "../src/gen/pm_pb";
import { describeError } from "../src/messages";
import { fromSnapshot } from "../src/state/pool";
import { isBlocked, moveForDrop } from "../src/state/views";
import { item, snapshot } from "./fixtures";

describe("a drop on the board", () => {
  const lane = [
    item("a", { parentId: "s1", position: "a" }),
    item("b", { parentId: "s2", position: "b" }),
    item("c", { parentId: "s1", position: "c" }),
  ];

  it("orders the card after the nearest sibling above the drop point", () => {
    const card = item("x", { parentId: "s1", status: "review" });
    expect(moveForDrop(card, "todo", lane, 2)).toEqual({ workItemId: "x", expectedVersion: 1n, status: "todo", afterId: "a" });
  });

  it("orders it before the nearest sibling below when none is above", () => {
    const card = item("x", { parentId: "s2", status: "todo" });
    expect(moveForDrop(card, "todo", lane, 0)).toEqual({ workItemId: "x", expectedVersion: 1n, beforeId: "b" });
  });

  it("changes only the status when the lane holds no sibling", () => {
    const card = item("x", { parentId: "s9", status: "todo" });
    expect(moveForDrop(card, "done", lane, 1)).toEqual({ workItemId: "x", expectedVersion: 1n, status: "done" });
  });
});

describe("blocked", () => {
  it("is the server's word, even when the blocker is done in the pool", () => {
    const blocker = item("b1", { status: "done" });
    const blocked = item("t", { isBlocked: true });
    const pool = fromSnapshot(snapshot([blocker, blocked]));
    pool.dependencies.set("d", create(DependencySchema, { id: "d", blockingItemId: "b1", blockedItemId: "t", dependencyType: "blocks", projectId: "p1" }));
    expect(isBlocked(blocked, pool)).toBe(true);
    pool.items.set("t", { ...blocked, isBlocked: false });
    expect(isBlocked(blocked, pool)).toBe(false);
  });
});

describe("error sentences", () => {
  it("reads a known code as a sentence with the server's detail, and an unknown one still as words", () => {
    expect(describeError({ code: "DELETE_BLOCKED", message: "the item has 2 live child items" })).toBe(
      "This can't be deleted yet: the item has 2 live child items.",
    );
    expect(describeError({ code: "SOMETHING_NEW", message: "" })).toBe("The server refused that.");
  });
});
