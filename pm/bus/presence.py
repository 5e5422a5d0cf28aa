"""Who views each project, across processes: the union of every process's own viewers.

Each process announces its viewers of a project (the set of user ids) whenever that set changes,
and again every ``ttl / 3`` seconds; what another process said holds until ``until`` (a wall-clock
instant it chose), so the viewers of a process that died without a word (kill -9, a lost node)
leave the union by themselves once its last announcement expires.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Key = tuple[str, str]  # (tenant id, project id)
Users = frozenset[str]


@dataclass
class _Remote:
    users: Users
    until_ms: int


@dataclass
class PresenceBook:
    local: dict[Key, Users] = field(default_factory=dict)
    remote: dict[Key, dict[str, _Remote]] = field(default_factory=dict)

    def set_local(self, key: Key, users: Users) -> bool:
        """This process's viewers of a project; True if they changed."""
        if self.local.get(key, frozenset()) == users:
            return False
        if users:
            self.local[key] = users
        else:
            self.local.pop(key, None)
        return True

    def set_remote(self, key: Key, process: str, users: Users, until_ms: int, now_ms: int) -> bool:
        """Another process's word; True if the union changed."""
        before = self.union(key, now_ms)
        entries = self.remote.setdefault(key, {})
        if users and until_ms > now_ms:
            entries[process] = _Remote(users, until_ms)
        else:
            entries.pop(process, None)
        if not entries:
            del self.remote[key]
        return self.union(key, now_ms) != before

    def union(self, key: Key, now_ms: int) -> Users:
        return self.local.get(key, frozenset()) | self.others(key, now_ms)

    def others(self, key: Key, now_ms: int) -> Users:
        """What the other processes said of a project and still holds."""
        users: set[str] = set()
        for entry in self.remote.get(key, {}).values():
            if entry.until_ms > now_ms:
                users |= entry.users
        return frozenset(users)

    def expire(self, now_ms: int) -> list[Key]:
        """Drop announcements past their time; the projects that lost one."""
        changed = []
        for key in list(self.remote):
            entries = self.remote[key]
            expired = [process for process, entry in entries.items() if entry.until_ms <= now_ms]
            for process in expired:
                del entries[process]
            if not entries:
                del self.remote[key]
            if expired:
                changed.append(key)
        return changed

    def forget_tenant(self, tenant_id: str) -> None:
        """No viewer of this tenant is left here: other processes' word on it is not needed."""
        for key in [k for k in self.remote if k[0] == tenant_id]:
            del self.remote[key]
