/** The REST door, for the reads that are better in bulk (the sprint report with its burndown).
 * The same bearer token; a refusal becomes the same RequestError as on the WebSocket. */
import { RequestError } from "./connection";

export async function getJson<T>(path: string, token: string): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { headers: { Authorization: `Bearer ${token}`, Accept: "application/json" } });
  } catch {
    throw new RequestError("OFFLINE", "the server can't be reached");
  }
  if (response.ok) return (await response.json()) as T;
  let code = response.status === 401 ? "UNAUTHENTICATED" : "INTERNAL";
  let message = "";
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string } };
    code = body.error?.code ?? code;
    message = body.error?.message ?? "";
  } catch {
    // not JSON: the code from the status is all there is
  }
  throw new RequestError(code, message);
}

/** True when the server refuses this token (as opposed to not being reachable). */
export async function tokenRefused(token: string): Promise<boolean> {
  try {
    await getJson("/api/v1/projects", token);
    return false;
  } catch (error) {
    return error instanceof RequestError && error.code === "UNAUTHENTICATED";
  }
}

export interface SprintReport {
  sprint: { id: string; name: string; status: string; start_date: string | null; end_date: string | null };
  points_committed: number;
  points_done: number;
  burndown: { date: string; remaining_points: number }[];
}

/** Cycle and lead time (GET /api/v1/projects/{id}/cycle-time): milliseconds, nearest rank. */
export interface Durations {
  count: number;
  p50_ms: number | null;
  p85_ms: number | null;
  p95_ms: number | null;
}

export interface CycleTimeReport {
  project_id: string;
  since: string;
  until: string;
  cycle_time: Durations;
  lead_time: Durations;
  items: { work_item_id: string; title: string; cycle_time_ms: number | null; lead_time_ms: number }[];
  has_more: boolean;
}
