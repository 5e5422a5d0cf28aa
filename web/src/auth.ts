/**
 * Sign-in: the token arrives in the URL fragment (`/#token=<JWT>`; a fragment never reaches a
 * server log), is kept in sessionStorage for this tab, and is removed from the address bar at
 * once. The claims are read for display and for the expiry check only; the server verifies.
 */

const STORAGE_KEY = "pm.token";
const FRAGMENT_KEY = "token";

export interface Session {
  token: string;
  userId: string;
  tenantId: string;
  name: string;
  roles: string[];
  expiresAtMs: number;
}

export type SignIn =
  | { kind: "signed-in"; session: Session }
  | { kind: "missing" }
  | { kind: "expired" }
  | { kind: "unreadable" };

interface Storage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

interface Place {
  hash: string;
  pathname: string;
  search: string;
}

/** Take the token from the fragment (then drop the fragment) or from storage. */
export function signIn(
  place: Place,
  storage: Storage,
  replaceUrl: (url: string) => void,
  nowMs: number,
): SignIn {
  const fragment = new URLSearchParams(place.hash.replace(/^#/, ""));
  const fromFragment = fragment.get(FRAGMENT_KEY);
  if (fromFragment !== null) {
    fragment.delete(FRAGMENT_KEY); // the rest (a project to open, say) stays
    const rest = fragment.toString();
    replaceUrl(place.pathname + place.search + (rest ? `#${rest}` : ""));
    storage.setItem(STORAGE_KEY, fromFragment);
  }
  const token = fromFragment ?? storage.getItem(STORAGE_KEY);
  if (!token) return { kind: "missing" };
  const session = readToken(token);
  if (session === null) {
    storage.removeItem(STORAGE_KEY);
    return { kind: "unreadable" };
  }
  if (session.expiresAtMs <= nowMs) {
    storage.removeItem(STORAGE_KEY);
    return { kind: "expired" };
  }
  return { kind: "signed-in", session };
}

export function forget(storage: Storage): void {
  storage.removeItem(STORAGE_KEY);
}

/** The claims of a JWT, unverified (the server verifies); null if it isn't one. */
export function readToken(token: string): Session | null {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const json = atob(parts[1]!.replace(/-/g, "+").replace(/_/g, "/"));
    const claims = JSON.parse(json) as Record<string, unknown>;
    if (typeof claims.sub !== "string" || typeof claims.exp !== "number") return null;
    return {
      token,
      userId: claims.sub,
      tenantId: typeof claims.tenant_id === "string" ? claims.tenant_id : "",
      name: typeof claims.name === "string" && claims.name ? claims.name : claims.sub,
      roles: Array.isArray(claims.roles) ? claims.roles.filter((r) => typeof r === "string") : [],
      expiresAtMs: claims.exp * 1000,
    };
  } catch {
    return null;
  }
}
