import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { EnvelopeSchema } from "../src/gen/pm_pb";
import { Connection, RequestError, type SocketLike, type Status } from "../src/protocol/connection";

class FakeSocket implements SocketLike {
  binaryType = "blob";
  sent: Uint8Array[] = [];
  closed: { code?: number } | null = null;
  onopen: ((e: unknown) => void) | null = null;
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onclose: ((e: { code: number; reason: string }) => void) | null = null;
  onerror: ((e: unknown) => void) | null = null;
  constructor(readonly url: string, readonly protocols: string[]) {}
  send(data: Uint8Array) {
    this.sent.push(data);
  }
  close(code?: number) {
    this.closed = code === undefined ? {} : { code };
  }
  lastRequest() {
    return fromBinary(EnvelopeSchema, this.sent.at(-1)!);
  }
  answer(payload: object, messageId = this.lastRequest().messageId) {
    const envelope = create(EnvelopeSchema, { messageId, payload: payload as never });
    this.onmessage!({ data: toBinary(EnvelopeSchema, envelope).buffer });
  }
}

function setup(refused = false) {
  const sockets: FakeSocket[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const statuses: [Status, boolean, number | undefined][] = [];
  const events: string[] = [];
  let id = 0;
  const connection = new Connection({
    url: "ws://host/ws",
    token: () => "TOKEN",
    factory: (url, protocols) => {
      const socket = new FakeSocket(url, protocols);
      sockets.push(socket);
      return socket;
    },
    timers: { setTimeout: (fn, ms) => timers.push({ fn, ms }), clearTimeout: () => undefined, random: () => 1 },
    newId: () => `m${++id}`,
    onEvent: (e) => events.push(e.payload.case ?? ""),
    onStatus: (s, info) => statuses.push([s, info.reconnected, info.closeCode]),
    refusedAtHandshake: async () => refused,
  });
  connection.start();
  return { connection, sockets, timers, statuses, events };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe("the connection", () => {
  it("offers pm.v1 and the bearer subprotocol, and reads binary frames", () => {
    const { sockets } = setup();
    expect(sockets[0]!.protocols).toEqual(["pm.v1", "pm.bearer.TOKEN"]);
    expect(sockets[0]!.binaryType).toBe("arraybuffer");
  });

  it("matches a response to its request by message id and hands everything else on as events", async () => {
    const { connection, sockets, events } = setup();
    const socket = sockets[0]!;
    socket.onopen!({});
    const answer = connection.request("listProjects", {});
    expect(socket.lastRequest().payload.case).toBe("listProjects");
    socket.answer({ case: "presenceChanged", value: { projectId: "p", users: ["a"] } }, "");
    socket.answer({ case: "projectsList", value: { projects: [] } });
    expect((await answer).payload.case).toBe("projectsList");
    expect(events).toEqual(["presenceChanged"]);
  });

  it("turns the server's Error into a RequestError with its details", async () => {
    const { connection, sockets } = setup();
    sockets[0]!.onopen!({});
    const answer = connection.request("updateWorkItem", { workItemId: "a", expectedVersion: 1n });
    sockets[0]!.answer({
      case: "error",
      value: { code: "CONFLICT", message: "title changed", currentVersion: 3n, conflicts: [{ field: "title", seen: "a", stored: "b", attempted: "c" }] },
    });
    const error = await answer.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestError);
    expect(error).toMatchObject({ code: "CONFLICT", detail: "title changed", currentVersion: 3n });
    expect((error as RequestError).conflicts).toEqual([{ field: "title", seen: "a", stored: "b", attempted: "c" }]);
  });

  it("fails requests in flight when the socket drops and reopens it with growing backoff", async () => {
    const { connection, sockets, timers, statuses } = setup();
    sockets[0]!.onopen!({});
    const pending = connection.request("listProjects", {});
    sockets[0]!.onclose!({ code: 1012, reason: "server restarting" });
    await expect(pending).rejects.toMatchObject({ code: "OFFLINE" });
    expect(statuses.at(-1)).toEqual(["offline", false, 1012]);
    await flush();
    const first = timers.at(-1)!;
    first.fn();
    expect(sockets).toHaveLength(2);
    sockets[1]!.onclose!({ code: 1006, reason: "" }); // never opened: the server is still away
    await flush();
    const second = timers.at(-1)!;
    expect(second.ms).toBeGreaterThan(first.ms);
    second.fn();
    sockets[2]!.onopen!({});
    expect(statuses.at(-1)).toEqual(["online", true, undefined]);
  });

  it("stops when the token expires or the server refuses it at the handshake", async () => {
    const expired = setup();
    expired.sockets[0]!.onopen!({});
    expired.sockets[0]!.onclose!({ code: 4401, reason: "token expired" });
    expect(expired.statuses.at(-1)![0]).toBe("signed-out");

    const refused = setup(true);
    refused.sockets[0]!.onclose!({ code: 1006, reason: "" });
    await flush();
    expect(refused.statuses.at(-1)![0]).toBe("signed-out");
    expect(refused.timers).toHaveLength(0);
  });

  it("refuses a request while offline instead of queueing it", async () => {
    const { connection } = setup();
    await expect(connection.request("listProjects", {})).rejects.toMatchObject({ code: "OFFLINE" });
  });
});
