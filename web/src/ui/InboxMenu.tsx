/** The inbox in the top bar: the unread count, live; opened, the person's notifications,
 * newest first; choosing one opens its item and marks it read. */
import { useState } from "preact/hooks";
import type { Notification } from "../gen/pm_pb";
import { REASON_LABELS, TEXT } from "../messages";
import type { Board } from "../state/board";
import { when } from "./format";

export function InboxMenu({ board, onOpen }: { board: Board; onOpen: (projectId: string, itemId: string) => void }) {
  const inbox = board.inbox;
  const [open, setOpen] = useState(false);
  const choose = (note: Notification) => {
    setOpen(false);
    onOpen(note.projectId, note.workItemId);
    if (note.readAt === undefined) void inbox.markRead([note.id]).catch(() => undefined);
  };
  return (
    <div class="inbox">
      <button type="button" class="ghost inbox-button" aria-expanded={open} aria-label={TEXT.inbox.label(inbox.unreadCount)} onClick={() => setOpen(!open)}>
        {TEXT.inbox.title}
        {inbox.unreadCount > 0 && <span class="badge unread-count">{inbox.unreadCount}</span>}
      </button>
      {open && (
        <div class="inbox-panel" role="dialog" aria-label={TEXT.inbox.title}>
          <div class="inbox-head">
            <strong>{TEXT.inbox.title}</strong>
            {inbox.unreadCount > 0 && (
              <button type="button" class="link" onClick={() => void inbox.markAllRead().catch(() => undefined)}>
                {TEXT.inbox.markAll}
              </button>
            )}
          </div>
          {inbox.notifications.length === 0 && <p class="muted">{TEXT.inbox.empty}</p>}
          <ul class="inbox-list">
            {inbox.notifications.map((note) => (
              <li key={note.id} class={note.readAt === undefined ? "unread" : "read"}>
                <button type="button" class="inbox-item" onClick={() => choose(note)}>
                  <span class="inbox-reason">{REASON_LABELS[note.reason]?.(note.actorId) ?? note.reason}</span>
                  <span class="inbox-title">
                    {note.workItemKey} {note.title}
                  </span>
                  {note.excerpt && <span class="muted inbox-excerpt">{note.excerpt}</span>}
                  <span class="muted inbox-when">{when(note.createdAt)}</span>
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
