/** What the board shows of a cycle time report: the percentiles in hours or days (days once
 * the slowest lead time reaches two days), and one line of text. */
import type { CycleTimeReport, Durations } from "../protocol/rest";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export interface FlowFigures {
  unit: "hours" | "days";
  lead: number[]; // at p50, p85, p95, in the unit
  cycle: number[];
  summary: string;
}

/** null when nothing was completed in the report's range (there is nothing to chart). */
export function flowFigures(report: CycleTimeReport): FlowFigures | null {
  const lead = report.lead_time;
  const cycle = report.cycle_time;
  if (lead.count === 0) return null;
  const inDays = (lead.p95_ms ?? 0) >= 2 * DAY_MS;
  const size = inDays ? DAY_MS : HOUR_MS;
  const short = inDays ? "d" : "h";
  const value = (ms: number | null) => (ms === null ? 0 : Math.round((ms / size) * 10) / 10);
  const series = (d: Durations) => [value(d.p50_ms), value(d.p85_ms), value(d.p95_ms)];
  const items = `${lead.count} item${lead.count === 1 ? "" : "s"} completed ${report.since} → ${report.until}${report.has_more ? " (the earliest only)" : ""}`;
  const cycleText = cycle.count > 0 ? `cycle p50 ${value(cycle.p50_ms)} ${short} (${cycle.count} started)` : "none started before completion";
  return {
    unit: inDays ? "days" : "hours",
    lead: series(lead),
    cycle: series(cycle),
    summary: `${items} · lead p50 ${value(lead.p50_ms)} ${short} · ${cycleText}`,
  };
}
