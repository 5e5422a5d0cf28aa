/**
 * One WebSocket to pm's `/ws`, protobuf frames (subprotocol `pm.v1`), signed in with the
 * `pm.bearer.<JWT>` subprotocol. A request resolves with its response envelope (matched by
 * message_id) or rejects with a RequestError carrying the server's Error; everything else the
 * server sends is an event, handed to `onEvent` in arrival order. A dropped socket is reopened
 * with exponential backoff and jitter; requests in flight when it drops fail as OFFLINE (their
 * optimistic changes roll back) and the owner catches up with GetChanges once it is back.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { EnvelopeSchema, type Envelope } from "../gen/pm_pb";

export type Payload = Envelope["payload"];
export type PayloadCase = NonNullable<Payload["case"]>;
export type ValueOf<C extends PayloadCase> = Extract<Payload, { case: C }>["value"];

export type Status = "connecting" | "online" | "offline" | "signed-out";

export interface SocketLike {
  binaryType: string;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type SocketFactory = (url: string, protocols: string[]) => SocketLike;

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  random(): number;
}

export interface FieldConflictInfo {
  field: string;
  seen?: string | undefined;
  stored?: string | undefined;
  attempted?: string | undefined;
}

export class RequestError extends Error {
  constructor(
    readonly code: string,
    readonly detail: string,
    readonly field?: string,
    readonly currentVersion?: bigint,
    readonly conflicts: FieldConflictInfo[] = [],
    readonly path: string[] = [],
  ) {
    super(`${code}: ${detail}`);
  }
}

export interface ConnectionOptions {
  url: string;
  token: () => string;
  factory: SocketFactory;
  timers: Timers;
  newId: () => string;
  onEvent: (envelope: Envelope) => void;
  onStatus: (status: Status, info: { reconnected: boolean; closeCode?: number }) => void;
  /** Called when a socket could not be opened at all; true means "stop: not signed in". */
  refusedAtHandshake?: () => Promise<boolean>;
  requestTimeoutMs?: number;
}

const BACKOFF_FIRST_MS = 300;
const BACKOFF_MAX_MS = 15_000;
const TOKEN_EXPIRED = 4401;

interface InFlight {
  resolve: (envelope: Envelope) => void;
  reject: (error: RequestError) => void;
  timer: unknown;
}

export class Connection {
  private socket: SocketLike | null = null;
  private inFlight = new Map<string, InFlight>();
  private attempts = 0;
  private everOpened = false;
  private stopped = false;
  private retryTimer: unknown = null;
  status: Status = "connecting";

  constructor(private readonly options: ConnectionOptions) {}

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer !== null) this.options.timers.clearTimeout(this.retryTimer);
    this.socket?.close(1000, "closed by the page");
    this.socket = null;
    this.failAll("OFFLINE", "the page closed its connection");
  }

  /** Send one request; its response (or the server's Error as a RequestError). */
  request<C extends PayloadCase>(kind: C, value: Partial<ValueOf<C>> = {}): Promise<Envelope> {
    const socket = this.socket;
    if (socket === null || this.status !== "online") {
      return Promise.reject(new RequestError("OFFLINE", "not connected"));
    }
    const messageId = this.options.newId();
    const envelope = create(EnvelopeSchema, {
      messageId,
      payload: { case: kind, value } as never,
    });
    return new Promise<Envelope>((resolve, reject) => {
      const timer = this.options.timers.setTimeout(() => {
        this.inFlight.delete(messageId);
        reject(new RequestError("TIMEOUT", "no answer"));
      }, this.options.requestTimeoutMs ?? 20_000);
      this.inFlight.set(messageId, { resolve, reject, timer });
      socket.send(toBinary(EnvelopeSchema, envelope));
    });
  }

  private open(): void {
    this.setStatus("connecting", false);
    const socket = this.options.factory(this.options.url, ["pm.v1", `pm.bearer.${this.options.token()}`]);
    socket.binaryType = "arraybuffer";
    let opened = false;
    socket.onopen = () => {
      opened = true;
      const reconnected = this.everOpened;
      this.everOpened = true;
      this.attempts = 0;
      this.setStatus("online", reconnected);
    };
    socket.onmessage = (event) => this.receive(event.data);
    socket.onerror = () => undefined; // onclose follows and decides
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.failAll("OFFLINE", "the connection dropped");
      if (this.stopped) return;
      if (event.code === TOKEN_EXPIRED) {
        this.setStatus("signed-out", false, event.code);
        return;
      }
      this.setStatus("offline", false, event.code);
      void this.retry(opened);
    };
    this.socket = socket;
  }

  private async retry(opened: boolean): Promise<void> {
    if (!opened && this.options.refusedAtHandshake && (await this.options.refusedAtHandshake())) {
      this.setStatus("signed-out", false);
      return;
    }
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempts);
    this.attempts += 1;
    const delay = ceiling / 2 + (ceiling / 2) * this.options.timers.random();
    this.retryTimer = this.options.timers.setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) this.open();
    }, delay);
  }

  private receive(data: unknown): void {
    if (!(data instanceof ArrayBuffer) && !(data instanceof Uint8Array)) return;
    let envelope: Envelope;
    try {
      envelope = fromBinary(EnvelopeSchema, data instanceof Uint8Array ? data : new Uint8Array(data));
    } catch {
      return; // not an Envelope: nothing a person could act on
    }
    const waiting = envelope.messageId ? this.inFlight.get(envelope.messageId) : undefined;
    if (waiting === undefined) {
      this.options.onEvent(envelope);
      return;
    }
    this.inFlight.delete(envelope.messageId);
    this.options.timers.clearTimeout(waiting.timer);
    if (envelope.payload.case === "error") {
      const e = envelope.payload.value;
      waiting.reject(
        new RequestError(
          e.code,
          e.message,
          e.field,
          e.currentVersion,
          e.conflicts.map((c) => ({ field: c.field, seen: c.seen, stored: c.stored, attempted: c.attempted })),
          [...e.path],
        ),
      );
    } else {
      waiting.resolve(envelope);
    }
  }

  private failAll(code: string, detail: string): void {
    const waiting = [...this.inFlight.values()];
    this.inFlight.clear();
    for (const request of waiting) {
      this.options.timers.clearTimeout(request.timer);
      request.reject(new RequestError(code, detail));
    }
  }

  private setStatus(status: Status, reconnected: boolean, closeCode?: number): void {
    this.status = status;
    this.options.onStatus(status, closeCode === undefined ? { reconnected } : { reconnected, closeCode });
  }
}
