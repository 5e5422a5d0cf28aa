/**
 * The person's inbox: their notifications (newest first), the unread count, and which items
 * they watch. Fed by ListNotifications (on every connect: the socket follows the person's own
 * stream from the page's as_of_seq, so nothing falls between the page and what comes live) and
 * by the events of that stream: NotificationCreated, NotificationsRead (from this person's other
 * tabs too) and WatchChanged. A notification is applied once, whichever way it came.
 */
import type { Envelope, Notification } from "../gen/pm_pb";
import type { Requester } from "./board";

const INBOX_PAGE = 50;

export class Inbox {
  notifications: Notification[] = [];
  unreadCount = 0;
  watching = new Map<string, boolean>();

  constructor(
    private readonly server: Requester,
    private readonly changed: () => void,
  ) {}

  /** The newest page and the count; the socket joins the person's stream with it. */
  async load(): Promise<void> {
    const response = await this.server.request("listNotifications", { limit: INBOX_PAGE });
    if (response.payload.case !== "notificationsPage") return;
    this.notifications = response.payload.value.notifications;
    this.unreadCount = Number(response.payload.value.unreadCount);
    this.changed();
  }

  /** Apply an event of the person's own stream; false if the envelope is not one. */
  apply(envelope: Envelope): boolean {
    const payload = envelope.payload;
    if (payload.case === "notificationCreated") {
      const note = payload.value.notification;
      if (note && !this.notifications.some((n) => n.id === note.id)) {
        this.notifications = [note, ...this.notifications].slice(0, INBOX_PAGE);
      }
      this.unreadCount = Number(payload.value.unreadCount);
    } else if (payload.case === "notificationsRead") {
      this.markedRead(payload.value.ids, payload.value.all, Number(payload.value.unreadCount));
    } else if (payload.case === "watchChanged") {
      this.watching.set(payload.value.workItemId, payload.value.watching);
    } else {
      return false;
    }
    this.changed();
    return true;
  }

  async markRead(ids: string[]): Promise<void> {
    const response = await this.server.request("markNotificationsRead", { ids });
    if (response.payload.case === "notificationsRead") this.apply(response);
  }

  async markAllRead(): Promise<void> {
    const response = await this.server.request("markNotificationsRead", { all: true });
    if (response.payload.case === "notificationsRead") this.apply(response);
  }

  /** Whether the person watches the item (asked once per item, then kept by WatchChanged). */
  async loadWatching(workItemId: string): Promise<void> {
    const response = await this.server.request("getWatchers", { workItemId });
    if (response.payload.case !== "watchersList") return;
    this.watching.set(workItemId, response.payload.value.watching);
    this.changed();
  }

  async setWatching(workItemId: string, watching: boolean): Promise<void> {
    const response = await this.server.request(watching ? "watch" : "unwatch", { workItemId });
    if (response.payload.case === "watchChanged") this.apply(response);
  }

  private markedRead(ids: readonly string[], all: boolean, unread: number): void {
    const now = BigInt(Date.now());
    const marked = new Set(ids);
    this.notifications = this.notifications.map((n) =>
      n.readAt === undefined && (all || marked.has(n.id)) ? { ...n, readAt: now } : n,
    );
    this.unreadCount = unread;
  }
}
