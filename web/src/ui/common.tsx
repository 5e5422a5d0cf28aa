/** Small pieces shared by the views: avatars, badges, inline forms, notes. */
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { Member } from "../gen/pm_pb";
import { TYPE_LABELS, STATUS_LABELS } from "../messages";
import type { Board } from "../state/board";
import { displayName, initials } from "../state/views";

const AVATAR_COLOURS = ["#6366f1", "#0ea5e9", "#14b8a6", "#f59e0b", "#ec4899", "#8b5cf6", "#22c55e", "#ef4444"];

function colourOf(userId: string): string {
  let hash = 0;
  for (const ch of userId) hash = (hash * 31 + ch.charCodeAt(0)) | 0;
  return AVATAR_COLOURS[Math.abs(hash) % AVATAR_COLOURS.length]!;
}

export function Avatar({ userId, members, small }: { userId: string; members: Map<string, Member>; small?: boolean }) {
  const name = displayName(members, userId);
  return (
    <span class={small ? "avatar small" : "avatar"} style={{ background: colourOf(userId) }} title={name} aria-label={name}>
      {initials(name)}
    </span>
  );
}

export function TypeBadge({ type }: { type: string }) {
  return <span class={`type type-${type}`}>{TYPE_LABELS[type] ?? type}</span>;
}

/** A status as its project names it (``name``: the state's name, from the pool). */
export function StatusPill({ status, name }: { status: string; name?: string }) {
  return <span class={`status status-${status}`}>{name ?? STATUS_LABELS[status] ?? status}</span>;
}

/** A one-field form that appears on demand: "+ Add card" -> input -> Enter. */
export function InlineCreate({ label, placeholder, onCreate }: { label: string; placeholder: string; onCreate: (title: string) => void }) {
  const [open, setOpen] = useState(false);
  const [title, setTitle] = useState("");
  if (!open) {
    return (
      <button type="button" class="ghost add" onClick={() => setOpen(true)}>
        + {label}
      </button>
    );
  }
  return (
    <form
      class="inline-create"
      onSubmit={(e) => {
        e.preventDefault();
        const text = title.trim();
        if (text) onCreate(text);
        setTitle("");
        setOpen(false);
      }}
    >
      <input
        autoFocus
        aria-label={placeholder}
        placeholder={placeholder}
        value={title}
        onInput={(e) => setTitle((e.target as HTMLInputElement).value)}
        onKeyDown={(e) => e.key === "Escape" && setOpen(false)}
      />
      <button type="submit">Add</button>
    </form>
  );
}

const INFO_NOTE_MS = 8000;

/** Refusals stay until dismissed; information ("back online") fades after a few seconds. */
export function Notes({ board }: { board: Board }) {
  useEffect(() => {
    const timers = board.notes.filter((n) => n.kind === "info").map((n) => setTimeout(() => board.dismiss(n.id), INFO_NOTE_MS));
    return () => timers.forEach(clearTimeout);
  }, [board.notes]);
  return (
    <div class="notes" aria-live="polite">
      {board.notes.map((note) => (
        <div key={note.id} class={`note note-${note.kind}`} role={note.kind === "error" ? "alert" : "status"}>
          <span>{note.text}</span>
          <button type="button" class="ghost" aria-label="Dismiss" onClick={() => board.dismiss(note.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}

export function Section({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="section">
      <header class="section-head">
        <h3>{title}</h3>
        {actions}
      </header>
      {children}
    </section>
  );
}
