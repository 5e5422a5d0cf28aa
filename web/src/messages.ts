/**
 * Every sentence a person sees, in one place (STYLE.md habit 13). Server error codes
 * (DOMAIN.md) become words here; the server's own message is added as the detail, never a
 * stack trace (the server sends none, and the client shows no exception text of its own).
 */

export const ERROR_SENTENCES: Record<string, string> = {
  VALIDATION_ERROR: "That change isn't accepted",
  NOT_FOUND: "That item no longer exists, or you can't see it",
  UNAUTHENTICATED: "Your sign-in has expired",
  FORBIDDEN: "You don't have permission to do that",
  CONFLICT: "Someone else changed this at the same time",
  DELETE_BLOCKED: "This can't be deleted yet",
  CYCLE_DETECTED: "That dependency would make a loop",
  RATE_LIMITED: "Too many changes at once; try again in a moment",
  PAYLOAD_TOO_LARGE: "That is too large to save",
  INVALID_MESSAGE: "The server didn't understand that request",
  RESYNC_REQUIRED: "The board was away too long and has been reloaded",
  UNAVAILABLE: "The server is busy; try again in a moment",
  QUOTA_EXCEEDED: "Your organisation's limit has been reached",
  INTERNAL: "Something went wrong on the server",
  TIMEOUT: "The server didn't answer in time",
  OFFLINE: "Not connected; the change was not sent",
};

export interface ServerError {
  code: string;
  message: string;
  field?: string | undefined;
}

/** "<sentence>: <server detail>" for any refusal; an unknown code still reads as a sentence. */
export function describeError(error: ServerError): string {
  const sentence = ERROR_SENTENCES[error.code] ?? "The server refused that";
  const detail = error.message && error.message !== sentence ? error.message : "";
  return detail ? `${sentence}: ${detail}.` : `${sentence}.`;
}

export const TEXT = {
  signInTitle: "Sign in to the board",
  signInMissing:
    "This page needs a sign-in link. Ask your administrator for one, or run `make run` (or `pm demo`) on your machine and open the link it prints.",
  signInExpired:
    "Your sign-in link has expired. Get a fresh one: run `pm demo` again, or ask your administrator for a new link (`pm token`).",
  signInRefused:
    "The server did not accept this sign-in link. It may be for another server, or it may have expired. Ask for a new one.",
  signInHowTo: "A sign-in link looks like http://host:port/#token=…",
  connection: {
    connecting: "Connecting…",
    online: "Live",
    offline: "Offline, reconnecting…",
    caughtUp: (n: number) =>
      n === 0 ? "Back online; nothing changed meanwhile." : `Back online; caught up on ${n} change${n === 1 ? "" : "s"}.`,
    resynced: "Back online; the project was reloaded.",
  },
  moveRolledBack: (reason: string) => `The move was undone. ${reason}`,
  changeRolledBack: (reason: string) => `The change was undone. ${reason}`,
  readOnly: "You can view this project but not change it.",
  filters: {
    bar: "Filter the board",
    label: "Label",
    anyLabel: "Any label",
    view: "View",
    noView: "No saved view",
    viewName: "Name of the view",
    save: "Save as view",
    clear: "Show every card",
  },
  fields: {
    labels: "Labels",
    noLabels: "The project has no labels yet.",
    custom: "Fields",
    none: "None",
  },
  accessRevoked: "You no longer have access to this project.",
  noProjects: "No projects yet. Create the first one.",
  emptyLane: "Nothing here",
  conflictTitle: "Someone changed this while you were editing",
  conflictHelp: "For each field, choose which value to keep.",
  conflictSeen: "You saw",
  conflictStored: "Saved now",
  conflictAttempted: "You wrote",
  cycleTitle: "That dependency would make a loop:",
  editedBy: (who: string) => `${who} just edited this`,
  itemGone: "This item was deleted.",
  statesHelp: "Items carry a state's key; its category says what it means to velocity, blocking, burndown and cycle time.",
  deleteStateTitle: (name: string) => `Delete the state ${name}?`,
  deleteStateItems: (n: number) => (n === 0 ? "No item is in it." : `${n} item${n === 1 ? " is" : "s are"} in it.`),
  deleteStateMoveTo: "Move its items to",
  inbox: {
    title: "Inbox",
    label: (unread: number) => (unread === 0 ? "Inbox, nothing unread" : `Inbox, ${unread} unread`),
    empty: "Nothing here yet. You'll be told when someone assigns you, mentions you, or changes what you watch.",
    markAll: "Mark all read",
    watch: "Watch",
    watching: "Watching",
  },
};

export const CATEGORY_LABELS: Record<string, string> = {
  backlog: "Backlog",
  unstarted: "Not started",
  started: "Started",
  review: "Review",
  completed: "Completed",
  cancelled: "Cancelled",
};

/** Why a notification was made, with who made the change. */
export const REASON_LABELS: Record<string, (actor: string) => string> = {
  assigned: (actor) => `${actor} assigned you`,
  mentioned: (actor) => `${actor} mentioned you`,
  commented: (actor) => `${actor} commented`,
  status_changed: (actor) => `${actor} changed the status`,
};

export const STATUS_LABELS: Record<string, string> = {
  backlog: "Backlog",
  todo: "To do",
  in_progress: "In progress",
  review: "Review",
  done: "Done",
};

export const PRIORITY_LABELS: Record<string, string> = {
  low: "Low",
  medium: "Medium",
  high: "High",
  critical: "Critical",
};

export const TYPE_LABELS: Record<string, string> = {
  project: "Project",
  epic: "Epic",
  story: "Story",
  task: "Task",
};

export const ROLE_LABELS: Record<string, string> = {
  viewer: "Viewer",
  editor: "Editor",
  admin: "Admin",
};

export const SPRINT_STATUS_LABELS: Record<string, string> = {
  planned: "Planned",
  active: "Active",
  completed: "Completed",
  cancelled: "Cancelled",
};

export const FIELD_LABELS: Record<string, string> = {
  title: "Title",
  description: "Description",
  status: "Status",
  priority: "Priority",
  assignee_id: "Assignee",
  story_points: "Points",
  sprint_id: "Sprint",
  parent_id: "Parent",
  position: "Order",
};
