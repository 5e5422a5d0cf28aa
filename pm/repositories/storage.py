"""The tenant file's own size, as SQLite counts it inside the transaction (uncommitted pages
included): what the storage and write budgets measure."""

from __future__ import annotations

from pm.repositories.base import Repository


class StorageRepository(Repository):
    def used_bytes(self) -> int:
        """Pages in use (the file's pages less the free ones), in bytes."""
        pages = int(self._scalar("PRAGMA page_count"))
        free = int(self._scalar("PRAGMA freelist_count"))
        return (pages - free) * int(self._scalar("PRAGMA page_size"))
