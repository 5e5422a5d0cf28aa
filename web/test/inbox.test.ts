import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { EnvelopeSchema, NotificationSchema, type Envelope } from "../src/gen/pm_pb";
import type { PayloadCase } from "../src/protocol/connection";
import type { Requester } from "../src/state/board";
import { Inbox } from "../src/state/inbox";

function note(id: string) {
  return create(NotificationSchema, { id, reason: "mentioned", workItemId: "t1", projectId: "p1", title: "T", actorId: "bob" });
}

function event(seq: bigint, payload: Envelope["payload"]): Envelope {
  return create(EnvelopeSchema, { messageId: `e${seq}`, seq, actorId: "bob", payload });
}

class Answers implements Requester {
  sent: PayloadCase[] = [];
  constructor(private readonly answer: Envelope) {}
  request(kind: PayloadCase): Promise<Envelope> {
    this.sent.push(kind);
    return Promise.resolve(this.answer);
  }
}

describe("the inbox", () => {
  it("applies a notification once, whether it came live, in catch-up or in the page", async () => {
    const page = event(0n, { case: "notificationsPage", value: { notifications: [note("n1")], unreadCount: 1n, asOfSeq: 5n } } as never);
    let changes = 0;
    const inbox = new Inbox(new Answers(page), () => (changes += 1));
    await inbox.load();
    const again = event(6n, { case: "notificationCreated", value: { notification: note("n1"), unreadCount: 1n } } as never);
    const fresh = event(7n, { case: "notificationCreated", value: { notification: note("n2"), unreadCount: 2n } } as never);
    expect(inbox.apply(again)).toBe(true);
    expect(inbox.apply(fresh)).toBe(true);
    expect(inbox.notifications.map((n) => n.id)).toEqual(["n2", "n1"]);
    expect(inbox.unreadCount).toBe(2);
    expect(changes).toBe(3);
  });

  it("follows read marks made in another tab and leaves project events alone", () => {
    const inbox = new Inbox(new Answers(event(0n, { case: undefined } as never)), () => undefined);
    inbox.apply(event(1n, { case: "notificationCreated", value: { notification: note("n1"), unreadCount: 1n } } as never));
    inbox.apply(event(2n, { case: "notificationCreated", value: { notification: note("n2"), unreadCount: 2n } } as never));
    inbox.apply(event(3n, { case: "notificationsRead", value: { ids: ["n1"], all: false, unreadCount: 1n } } as never));
    expect(inbox.notifications.map((n) => n.readAt !== undefined)).toEqual([false, true]);
    inbox.apply(event(4n, { case: "notificationsRead", value: { ids: [], all: true, unreadCount: 0n } } as never));
    expect(inbox.notifications.every((n) => n.readAt !== undefined)).toBe(true);
    expect(inbox.unreadCount).toBe(0);
    inbox.apply(event(5n, { case: "watchChanged", value: { workItemId: "t1", projectId: "p1", watching: true } } as never));
    expect(inbox.watching.get("t1")).toBe(true);
    expect(inbox.apply(event(6n, { case: "commentDeleted", value: { commentId: "c", workItemId: "t1", projectId: "p1" } } as never))).toBe(false);
  });
});
