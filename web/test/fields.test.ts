import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { CustomFieldSchema, EnvelopeSchema, WorkItemSchema, type Envelope } from "../src/gen/pm_pb";
import { fieldValue, inputOf, shownValue, wireValue } from "../src/state/fields";
import { applyEvent, applyOwnResponse, fromSnapshot } from "../src/state/pool";
import { item, PROJECT, snapshot } from "./fixtures";

type Payload = MessageInitShape<typeof EnvelopeSchema>["payload"];

function event(seq: bigint, payload: Payload, actorId = "bob"): Envelope {
  return create(EnvelopeSchema, { messageId: `e${seq}`, seq, actorId, payload });
}

const field = (fieldType: string) => create(CustomFieldSchema, { id: "f1", projectId: PROJECT, name: "F", fieldType, version: 1n });

describe("labels, fields and views in the pool", () => {
  it("takes a label off every item when it is deleted", () => {
    const pool = fromSnapshot(snapshot([item("a", { labels: ["l1", "l2"] }), item("b", { labels: ["l2"] })]));
    applyEvent(pool, event(11n, { case: "labelCreated", value: { label: { id: "l1", projectId: PROJECT, name: "Bug", version: 1n } } }), "alice", 0);
    expect(pool.labels.get("l1")?.name).toBe("Bug");
    applyEvent(pool, event(12n, { case: "labelDeleted", value: { labelId: "l2", projectId: PROJECT } }), "alice", 0);
    expect(pool.items.get("a")?.labels).toEqual(["l1"]);
    expect(pool.items.get("b")?.labels).toEqual([]);
  });

  it("drops a deleted field's values from the items", () => {
    const withValue = item("a", { customFields: { f1: { kind: { case: "numberValue", value: 3 } } } as never });
    const pool = fromSnapshot(snapshot([withValue]));
    expect(fieldValue(pool.items.get("a")!, "f1")).toBe(3);
    applyEvent(pool, event(11n, { case: "customFieldDeleted", value: { customFieldId: "f1", projectId: PROJECT } }), "alice", 0);
    expect(fieldValue(pool.items.get("a")!, "f1")).toBeUndefined();
  });

  it("keeps the person's own private view from its answer, and forgets a deleted one", () => {
    const pool = fromSnapshot(snapshot([]));
    applyOwnResponse(pool, event(0n, { case: "viewSaved", value: { view: { id: "v1", projectId: PROJECT, name: "Bugs", version: 1n } } }, "alice"));
    expect([...pool.views.keys()]).toEqual(["v1"]);
    applyOwnResponse(pool, event(0n, { case: "viewDeleted", value: { viewId: "v1", projectId: PROJECT } }, "alice"));
    expect(pool.views.size).toBe(0);
  });
});

describe("field values between the form and the wire", () => {
  it("reads each kind of value an item holds", () => {
    const held = create(WorkItemSchema, {
      id: "a",
      customFields: {
        t: wireValue("text"),
        n: wireValue(2.5),
        m: wireValue(["x", "y"]),
      } as never,
    });
    expect([fieldValue(held, "t"), fieldValue(held, "n"), fieldValue(held, "m"), fieldValue(held, "none")]).toEqual([
      "text",
      2.5,
      ["x", "y"],
      undefined,
    ]);
  });

  it("turns what a person typed into the field's type, empty clearing it", () => {
    expect(inputOf(field("number"), "7")).toBe(7);
    expect(inputOf(field("text"), "  ")).toBeNull();
    expect(inputOf(field("multi_select"), [])).toBeNull();
    expect(inputOf(field("date"), "2026-05-01")).toBe("2026-05-01");
    expect(wireValue(null).kind.case).toBe("nullValue");
    expect(shownValue(["a", "b"])).toBe("a, b");
  });
});
