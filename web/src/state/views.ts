/**
 * Read-only views of the pool with this page's pending (optimistic) changes laid over it.
 * A pending change is a patch on one item (or a provisional new item, or a removal) that
 * shows at once and disappears when the server answers: confirmed, the pool holds the real
 * value; refused, the view is simply back to the pool's value (the rollback).
 */
import type { Member, WorkflowState, WorkItem } from "../gen/pm_pb";
import type { Pool } from "./pool";

export type ItemPatch = Partial<
  Pick<WorkItem, "title" | "description" | "status" | "priority" | "assigneeId" | "storyPoints" | "sprintId" | "parentId">
>;

export interface PendingChange {
  id: string; // the request's message id
  itemId: string;
  patch?: ItemPatch;
  /** A card dropped in a lane: shown right after this card (null: at the top). */
  place?: { afterId: string | null };
  created?: WorkItem;
  removed?: boolean;
}

export const BOARD_TYPES = new Set(["story", "task"]);

export function effectiveItems(pool: Pool, pending: readonly PendingChange[]): Map<string, WorkItem> {
  if (pending.length === 0) return pool.items;
  const items = new Map(pool.items);
  for (const change of pending) {
    if (change.created && !items.has(change.itemId)) items.set(change.itemId, change.created);
    const item = items.get(change.itemId);
    if (item === undefined) continue;
    if (change.removed) items.delete(change.itemId);
    else if (change.patch) items.set(change.itemId, { ...item, ...change.patch });
  }
  return items;
}

export function byPosition(a: { position: string; id: string }, b: { position: string; id: string }): number {
  if (a.position !== b.position) return a.position < b.position ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export interface Column {
  state: WorkflowState;
  cards: WorkItem[];
}

/** The project's states in board order. */
export function orderedStates(pool: Pool): WorkflowState[] {
  return [...pool.states.values()].sort(byPosition);
}

/** A status as a person reads it: its state's name (the key if the state is unknown). */
export function stateName(pool: Pool, key: string): string {
  for (const state of pool.states.values()) if (state.key === key) return state.name;
  return key;
}

/** Where a state goes to sit after ``states[index]`` (before the first when index is -1). */
export function placeAfter(states: readonly WorkflowState[], index: number): { afterId: string } | { beforeId: string } {
  return index < 0 ? { beforeId: states[0]!.id } : { afterId: states[index]!.id };
}

/** A column per state in board order, but the backlog-category ones (the Backlog view's). */
export function columns(pool: Pool, pending: readonly PendingChange[]): Column[] {
  const items = effectiveItems(pool, pending);
  const states = orderedStates(pool).filter((state) => state.category !== "backlog");
  const result = states.map((state) => ({
    state,
    cards: [...items.values()]
      .filter((i) => BOARD_TYPES.has(i.itemType) && i.status === state.key)
      .sort(byPosition),
  }));
  for (const change of pending) {
    if (change.place === undefined) continue;
    const column = result.find((c) => c.cards.some((card) => card.id === change.itemId));
    if (column === undefined) continue;
    const card = column.cards.find((c) => c.id === change.itemId)!;
    column.cards = column.cards.filter((c) => c.id !== change.itemId);
    const after = change.place.afterId === null ? -1 : column.cards.findIndex((c) => c.id === change.place!.afterId);
    column.cards.splice(after + 1, 0, card);
  }
  return result;
}

export interface MoveRequest {
  workItemId: string;
  expectedVersion: bigint;
  status?: string;
  afterId?: string;
  beforeId?: string;
}

/**
 * A card dropped into a lane at `index` (among the lane's cards without it). Order keys are
 * kept among siblings (DOMAIN.md), and a lane mixes cards of many parents, so the card is
 * placed after the nearest sibling above the drop point, else before the nearest one below.
 */
export function moveForDrop(card: WorkItem, laneStatus: string, laneCards: readonly WorkItem[], index: number): MoveRequest {
  const others = laneCards.filter((c) => c.id !== card.id);
  const move: MoveRequest = { workItemId: card.id, expectedVersion: card.version };
  if (laneStatus !== card.status) move.status = laneStatus;
  const sibling = (c: WorkItem) => c.parentId === card.parentId;
  const above = others.slice(0, index).reverse().find(sibling);
  const below = others.slice(index).find(sibling);
  if (above) move.afterId = above.id;
  else if (below) move.beforeId = below.id;
  return move;
}

export function placeForDrop(laneCards: readonly WorkItem[], cardId: string, index: number): { afterId: string | null } {
  const others = laneCards.filter((c) => c.id !== cardId);
  return { afterId: index > 0 ? others[index - 1]!.id : null };
}

/** The server's word: `is_blocked` comes with the item and changes by `BlockedChanged` events
 * (PROTOCOL.md), so the board never walks the dependency graph itself. */
export function isBlocked(item: WorkItem, pool: Pool): boolean {
  return pool.items.get(item.id)?.isBlocked ?? item.isBlocked;
}

export function childrenOf(items: Map<string, WorkItem>): Map<string, WorkItem[]> {
  const children = new Map<string, WorkItem[]>();
  for (const item of items.values()) {
    const parent = item.parentId ?? "";
    const list = children.get(parent);
    if (list) list.push(item);
    else children.set(parent, [item]);
  }
  for (const list of children.values()) list.sort(byPosition);
  return children;
}

export type Role = "viewer" | "editor" | "admin";

export function roleOf(pool: Pool, userId: string, tokenRoles: readonly string[]): Role {
  if (tokenRoles.includes("admin")) return "admin";
  const role = pool.members.get(userId)?.role;
  return role === "admin" || role === "editor" ? role : "viewer";
}

export function displayName(members: Map<string, Member>, userId: string | undefined): string {
  if (!userId) return "";
  const member = members.get(userId);
  return member?.name || member?.email || userId;
}

export function initials(name: string): string {
  const words = name.replace(/[^\p{L}\p{N} ]/gu, " ").trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return "?";
  return (words.length === 1 ? words[0]!.slice(0, 2) : words[0]![0]! + words[1]![0]!).toUpperCase();
}
