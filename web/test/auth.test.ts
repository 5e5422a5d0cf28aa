import { describe, expect, it } from "vitest";
import { signIn } from "../src/auth";

function token(claims: object): string {
  const part = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${part({ alg: "HS256" })}.${part(claims)}.signature`;
}

function memory() {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (k: string) => data.get(k) ?? null,
    setItem: (k: string, v: string) => void data.set(k, v),
    removeItem: (k: string) => void data.delete(k),
  };
}

describe("sign-in", () => {
  const valid = token({ sub: "alice", tenant_id: "acme", name: "Alice", roles: ["admin"], exp: 2000 });

  it("takes the token from the fragment, keeps it for the tab and removes it from the address", () => {
    const storage = memory();
    const urls: string[] = [];
    const result = signIn({ hash: `#token=${valid}&project=p1`, pathname: "/", search: "" }, storage, (u) => urls.push(u), 1000_000);
    expect(result).toMatchObject({ kind: "signed-in", session: { userId: "alice", name: "Alice", roles: ["admin"], tenantId: "acme" } });
    expect(urls).toEqual(["/#project=p1"]);
    expect(storage.data.get("pm.token")).toBe(valid);
  });

  it("uses the stored token when the address has none", () => {
    const storage = memory();
    storage.setItem("pm.token", valid);
    expect(signIn({ hash: "", pathname: "/", search: "" }, storage, () => undefined, 0).kind).toBe("signed-in");
  });

  it("says expired for a token past its exp, and forgets it", () => {
    const storage = memory();
    expect(signIn({ hash: `#token=${valid}`, pathname: "/", search: "" }, storage, () => undefined, 2000_000).kind).toBe("expired");
    expect(storage.data.size).toBe(0);
  });

  it("says missing without a token and unreadable for something that isn't a JWT", () => {
    expect(signIn({ hash: "", pathname: "/", search: "" }, memory(), () => undefined, 0).kind).toBe("missing");
    expect(signIn({ hash: "#token=not-a-jwt", pathname: "/", search: "" }, memory(), () => undefined, 0).kind).toBe("unreadable");
    expect(signIn({ hash: `#token=${token({ exp: 5 })}`, pathname: "/", search: "" }, memory(), () => undefined, 0).kind).toBe("unreadable");
  });
});
