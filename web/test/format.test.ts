import { describe, expect, it } from "vitest";
import { dueLabel } from "../src/ui/format";

describe("a card's due badge", () => {
  it("shows the month and day of the due date", () => {
    expect(dueLabel({ dueDate: "2026-03-06", isOverdue: false })).toBe("Due 03-06");
  });

  it("says overdue when the server says so", () => {
    expect(dueLabel({ dueDate: "2026-03-06", isOverdue: true })).toBe("Overdue · 03-06");
  });

  it("is absent without a due date", () => {
    expect(dueLabel({ isOverdue: false })).toBeNull();
  });
});
