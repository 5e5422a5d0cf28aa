/** An item's labels (toggled one at a time, as sets: they merge with anyone's change) and its
 * custom fields, each saved on its own when the person leaves it (each merges on its own). */
import { useEffect, useState } from "preact/hooks";
import type { CustomField, WorkItem } from "../gen/pm_pb";
import { TEXT } from "../messages";
import type { Board } from "../state/board";
import { fieldValue, inputOf, shownValue } from "../state/fields";
import type { Pool } from "../state/pool";
import { displayName } from "../state/views";
import { Section } from "./common";

export function ItemFields({ board, pool, item, canEdit }: { board: Board; pool: Pool; item: WorkItem; canEdit: boolean }) {
  const labels = [...pool.labels.values()].sort((a, b) => a.name.localeCompare(b.name));
  const fields = [...pool.customFields.values()].sort((a, b) => a.name.localeCompare(b.name));
  return (
    <>
      <Section title={TEXT.fields.labels}>
        {labels.length === 0 && <p class="muted">{TEXT.fields.noLabels}</p>}
        <div class="label-picker">
          {labels.map((label) => {
            const on = item.labels.includes(label.id);
            return (
              <button
                type="button"
                key={label.id}
                class={`label-chip${on ? " on" : ""}`}
                style={{ borderColor: label.colour, background: on ? label.colour : "transparent" }}
                aria-pressed={on}
                disabled={!canEdit}
                onClick={() => void board.setItemExtras(item, on ? { removeLabels: [label.id] } : { addLabels: [label.id] })}
              >
                {label.name}
              </button>
            );
          })}
        </div>
      </Section>
      {fields.length > 0 && (
        <Section title={TEXT.fields.custom}>
          <div class="field-grid">
            {fields.map((field) => (
              <FieldEditor key={field.id} board={board} pool={pool} item={item} field={field} canEdit={canEdit} />
            ))}
          </div>
        </Section>
      )}
    </>
  );
}

function FieldEditor({ board, pool, item, field, canEdit }: { board: Board; pool: Pool; item: WorkItem; field: CustomField; canEdit: boolean }) {
  const stored = fieldValue(item, field.id);
  const [draft, setDraft] = useState<string | string[]>(draftOf(stored));
  useEffect(() => setDraft(draftOf(stored)), [item.version]);
  const save = (raw: string | string[]) => {
    if (shownValue(draftOf(stored)) === shownValue(raw)) return;
    void board.setItemExtras(item, { customFields: { [field.id]: inputOf(field, raw) } });
  };
  const name = `${field.name}${field.required ? " *" : ""}`;
  if (field.fieldType === "multi_select") {
    const chosen = Array.isArray(draft) ? draft : [];
    return (
      <fieldset class="multi" disabled={!canEdit}>
        <legend>{name}</legend>
        {field.options.map((option) => (
          <label key={option} class="check">
            <input
              type="checkbox"
              checked={chosen.includes(option)}
              onChange={() => {
                const next = chosen.includes(option) ? chosen.filter((o) => o !== option) : [...chosen, option];
                setDraft(next);
                save(next);
              }}
            />
            {option}
          </label>
        ))}
      </fieldset>
    );
  }
  const text = typeof draft === "string" ? draft : "";
  const onSelect = (e: Event) => {
    const value = (e.target as HTMLSelectElement).value;
    setDraft(value);
    save(value);
  };
  let control;
  if (field.fieldType === "select" || field.fieldType === "user") {
    const choices = field.fieldType === "select"
      ? field.options.map((o) => [o, o] as const)
      : [...pool.members.values()].map((m) => [m.userId, displayName(pool.members, m.userId)] as const);
    control = (
      <select aria-label={field.name} value={text} disabled={!canEdit} onChange={onSelect}>
        <option value="">{TEXT.fields.none}</option>
        {choices.map(([value, label]) => <option key={value} value={value}>{label}</option>)}
      </select>
    );
  } else {
    const type = { number: "number", date: "date", url: "url" }[field.fieldType] ?? "text";
    control = (
      <input
        aria-label={field.name}
        type={type}
        value={text}
        disabled={!canEdit}
        onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
        onBlur={() => save(text)}
        onKeyDown={(e) => e.key === "Enter" && save(text)}
      />
    );
  }
  return (
    <label>
      {name}
      {control}
    </label>
  );
}

function draftOf(value: string | number | string[] | undefined): string | string[] {
  if (value === undefined) return "";
  return Array.isArray(value) ? value : String(value);
}
