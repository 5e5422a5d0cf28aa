import { describe, expect, it } from "vitest";
import type { CycleTimeReport } from "../src/protocol/rest";
import { flowFigures } from "../src/state/flow";

const HOUR = 3_600_000;

function report(overrides: Partial<CycleTimeReport> = {}): CycleTimeReport {
  return {
    project_id: "p",
    since: "2026-11-02",
    until: "2026-12-01",
    lead_time: { count: 6, p50_ms: 20 * HOUR, p85_ms: 72 * HOUR, p95_ms: 72 * HOUR },
    cycle_time: { count: 4, p50_ms: 24 * HOUR, p85_ms: 48 * HOUR, p95_ms: 48 * HOUR },
    items: [],
    has_more: false,
    ...overrides,
  };
}

describe("the cycle time chart's figures", () => {
  it("gives the percentiles in days, one decimal, once the slowest lead takes two days", () => {
    const figures = flowFigures(report())!;
    expect(figures.unit).toBe("days");
    expect(figures.lead).toEqual([0.8, 3, 3]);
    expect(figures.cycle).toEqual([1, 2, 2]);
    expect(figures.summary).toBe("6 items completed 2026-11-02 → 2026-12-01 · lead p50 0.8 d · cycle p50 1 d (4 started)");
  });

  it("gives them in hours when every lead is shorter", () => {
    const figures = flowFigures(
      report({
        lead_time: { count: 2, p50_ms: 90 * 60_000, p85_ms: 47 * HOUR, p95_ms: 47 * HOUR },
        cycle_time: { count: 1, p50_ms: 30 * 60_000, p85_ms: 30 * 60_000, p95_ms: 30 * 60_000 },
      }),
    )!;
    expect(figures.unit).toBe("hours");
    expect(figures.lead).toEqual([1.5, 47, 47]);
    expect(figures.summary).toBe("2 items completed 2026-11-02 → 2026-12-01 · lead p50 1.5 h · cycle p50 0.5 h (1 started)");
  });

  it("says when no completed item was started first", () => {
    const figures = flowFigures(report({ cycle_time: { count: 0, p50_ms: null, p85_ms: null, p95_ms: null } }))!;
    expect(figures.cycle).toEqual([0, 0, 0]);
    expect(figures.summary).toContain("none started before completion");
  });

  it("says the figures cover the earliest items when the server cut the list", () => {
    expect(flowFigures(report({ has_more: true }))!.summary).toContain("(the earliest only)");
  });

  it("has nothing to chart when nothing was completed", () => {
    expect(flowFigures(report({ lead_time: { count: 0, p50_ms: null, p85_ms: null, p95_ms: null } }))).toBeNull();
  });
});
