export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h} h ${m.toString().padStart(2, "0")} min`;
  if (m > 0) return `${m} min ${sec.toString().padStart(2, "0")} s`;
  return `${sec} s`;
}

export function when(ms: bigint | number): string {
  const date = new Date(Number(ms));
  return date.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

/** A card's due badge: "Due 03-06", or "Overdue · 03-06" (the server derives overdue). */
export function dueLabel(item: { dueDate?: string; isOverdue: boolean }): string | null {
  if (!item.dueDate) return null;
  return `${item.isOverdue ? "Overdue ·" : "Due"} ${item.dueDate.slice(5)}`;
}
