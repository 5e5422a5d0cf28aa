/** Members: admins add people, change roles and remove them; everyone else sees the list. */
import { useState } from "preact/hooks";
import { ROLE_LABELS } from "../messages";
import type { Board } from "../state/board";
import type { Pool } from "../state/pool";
import { displayName } from "../state/views";
import { Avatar } from "./common";

export function MembersView({ board, pool, isAdmin }: { board: Board; pool: Pool; isAdmin: boolean }) {
  const [userId, setUserId] = useState("");
  const [role, setRole] = useState("editor");
  const projectId = pool.project.id;
  const members = [...pool.members.values()].sort((a, b) => displayName(pool.members, a.userId).localeCompare(displayName(pool.members, b.userId)));
  return (
    <div class="members">
      <h2>Members</h2>
      <table>
        <thead>
          <tr><th>Person</th><th>User id</th><th>Role</th>{isAdmin && <th />}</tr>
        </thead>
        <tbody>
          {members.map((m) => (
            <tr key={m.userId}>
              <td><Avatar userId={m.userId} members={pool.members} small /> {displayName(pool.members, m.userId)}</td>
              <td class="muted">{m.userId}</td>
              <td>
                {isAdmin ? (
                  <select
                    aria-label={`Role of ${displayName(pool.members, m.userId)}`}
                    value={m.role}
                    onChange={(e) => void board.command("updateMemberRole", { projectId, userId: m.userId, role: (e.target as HTMLSelectElement).value })}
                  >
                    {Object.entries(ROLE_LABELS).map(([value, label]) => <option key={value} value={value}>{label}</option>)}
                  </select>
                ) : (
                  ROLE_LABELS[m.role] ?? m.role
                )}
              </td>
              {isAdmin && (
                <td>
                  <button type="button" class="ghost danger" aria-label={`Remove ${displayName(pool.members, m.userId)}`} onClick={() => void board.command("removeMember", { projectId, userId: m.userId })}>
                    Remove
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {isAdmin && (
        <form
          class="inline-create"
          onSubmit={(e) => {
            e.preventDefault();
            if (!userId.trim()) return;
            void board.command("addMember", { projectId, userId: userId.trim(), role });
            setUserId("");
          }}
        >
          <input aria-label="User id to add" placeholder="User id" value={userId} onInput={(e) => setUserId((e.target as HTMLInputElement).value)} />
          <select aria-label="Role to give" value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value)}>
            {Object.entries(ROLE_LABELS).map(([value, label]) => <option key={value} value={value}>{label}</option>)}
          </select>
          <button type="submit">Add member</button>
        </form>
      )}
    </div>
  );
}
