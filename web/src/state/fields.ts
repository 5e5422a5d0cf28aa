/**
 * Custom field values as the wire carries them (a `google.protobuf.Value` per field) and as a
 * person edits them (a string, a number, a list of options); and the filter of the board, which
 * the server evaluates with the search's own code (a label's items, or a saved view's).
 */
import type { Value } from "@bufbuild/protobuf/wkt";
import type { CustomField, WorkItem } from "../gen/pm_pb";

export type FieldInput = string | number | string[] | null;

/** The value an item holds for a field, or undefined when it has none. */
export function fieldValue(item: WorkItem, fieldId: string): string | number | string[] | undefined {
  const value = item.customFields[fieldId];
  return value === undefined ? undefined : plain(value);
}

function plain(value: Value): string | number | string[] | undefined {
  switch (value.kind.case) {
    case "stringValue":
    case "numberValue":
      return value.kind.value;
    case "listValue":
      return value.kind.value.values.map((v) => (v.kind.case === "stringValue" ? v.kind.value : ""));
    default:
      return undefined;
  }
}

/** What the wire takes for a person's input: null clears. */
export function wireValue(input: FieldInput): { kind: Value["kind"] } {
  if (input === null) return { kind: { case: "nullValue", value: 0 } };
  if (typeof input === "number") return { kind: { case: "numberValue", value: input } };
  if (typeof input === "string") return { kind: { case: "stringValue", value: input } };
  const values = input.map((option) => ({ kind: { case: "stringValue" as const, value: option } }));
  return { kind: { case: "listValue", value: { values } } } as { kind: Value["kind"] };
}

/** A person's input for a field of this type, from what the form gave ("" clears). */
export function inputOf(field: CustomField, raw: string | string[]): FieldInput {
  if (Array.isArray(raw)) return raw.length === 0 ? null : raw;
  if (raw.trim() === "") return null;
  return field.fieldType === "number" ? Number(raw) : raw;
}

/** A field's value as a card or a line shows it. */
export function shownValue(value: string | number | string[] | undefined): string {
  if (value === undefined) return "";
  return Array.isArray(value) ? value.join(", ") : String(value);
}

/** What the board shows: every item, or those of a label or a saved view. */
export type BoardFilter = { kind: "all" } | { kind: "label"; labelId: string } | { kind: "view"; viewId: string };
