// Small builders of protocol messages for the state tests: real generated types, real codec.
import { create } from "@bufbuild/protobuf";
import {
  EnvelopeSchema,
  ProjectSnapshotSchema,
  SwimLaneSchema,
  WorkflowStateSchema,
  WorkItemSchema,
  type Envelope,
  type ProjectSnapshot,
  type WorkflowState,
  type WorkItem,
} from "../src/gen/pm_pb";

export const PROJECT = "p1";

export function item(id: string, fields: Partial<Omit<WorkItem, "$typeName">> = {}): WorkItem {
  return create(WorkItemSchema, {
    id,
    itemType: "task",
    projectId: PROJECT,
    parentId: "story1",
    title: id,
    status: "todo",
    priority: "medium",
    position: "m",
    version: 1n,
    ...fields,
  });
}

export function snapshot(items: WorkItem[], asOfSeq = 10n): ProjectSnapshot {
  return create(ProjectSnapshotSchema, {
    project: item(PROJECT, { itemType: "project", parentId: undefined, title: "Project" }),
    workItems: items,
    swimLanes: [
      create(SwimLaneSchema, { id: "l1", projectId: PROJECT, name: "To Do", statusValue: "todo", position: "a", version: 1n }),
      create(SwimLaneSchema, { id: "l2", projectId: PROJECT, name: "Done", statusValue: "done", position: "b", version: 1n }),
    ],
    states: [
      state("s0", "backlog", "Backlog", "backlog", "A"),
      state("s1", "todo", "To Do", "unstarted", "K"),
      state("s2", "done", "Done", "completed", "U"),
    ],
    asOfSeq,
  });
}

export function state(id: string, key: string, name: string, category: string, position: string, version = 1n): WorkflowState {
  return create(WorkflowStateSchema, { id, projectId: PROJECT, key, name, category, position, colour: "#64748b", version });
}

export function stateSaved(seq: bigint, saved: WorkflowState, kind: "stateCreated" | "stateUpdated" = "stateUpdated"): Envelope {
  const payload = kind === "stateCreated" ? { case: kind, value: { state: saved } } : { case: kind, value: { state: saved, changes: [] } };
  return create(EnvelopeSchema, { messageId: `e${seq}`, seq, actorId: "bob", payload });
}

export function stateDeleted(seq: bigint, stateId: string, movedItemsTo?: string): Envelope {
  return create(EnvelopeSchema, {
    messageId: `e${seq}`,
    seq,
    actorId: "bob",
    payload: { case: "stateDeleted", value: { stateId, projectId: PROJECT, movedItemsTo } },
  });
}

export function updated(seq: bigint, workItem: WorkItem, actorId = "bob"): Envelope {
  return create(EnvelopeSchema, {
    messageId: `e${seq}`,
    seq,
    actorId,
    payload: { case: "workItemUpdated", value: { workItem } },
  });
}

export function created(seq: bigint, workItem: WorkItem, actorId = "bob"): Envelope {
  return create(EnvelopeSchema, {
    messageId: `e${seq}`,
    seq,
    actorId,
    payload: { case: "workItemCreated", value: { workItem } },
  });
}

export function deleted(seq: bigint, workItemId: string): Envelope {
  return create(EnvelopeSchema, {
    messageId: `e${seq}`,
    seq,
    actorId: "bob",
    payload: { case: "workItemDeleted", value: { workItemId, projectId: PROJECT } },
  });
}

export function response(messageId: string, payload: Envelope["payload"], seq = 0n): Envelope {
  return create(EnvelopeSchema, { messageId, seq, actorId: "alice", payload });
}

export function presence(frame: { users?: string[]; joined?: string[]; left?: string[] }, projectId = PROJECT): Envelope {
  return create(EnvelopeSchema, { messageId: "", payload: { case: "presenceChanged", value: { projectId, ...frame } } });
}

export function blockedChanged(seq: bigint, changes: [string, boolean][], projectId = PROJECT): Envelope {
  return create(EnvelopeSchema, {
    messageId: `e${seq}`,
    seq,
    actorId: "bob",
    payload: {
      case: "blockedChanged",
      value: { projectId, changes: changes.map(([workItemId, isBlocked]) => ({ workItemId, isBlocked })) },
    },
  });
}
