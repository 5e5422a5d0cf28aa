"""Mentions in a text (DOMAIN.md "Mentions and notifications").

A mention is ``@`` followed by a user's id (``@alice``, ``@auth0|5f3a``) or e-mail address
(``@alice@example.com``), where the ``@`` starts the text or follows a character that is not a
letter, digit or ``_`` (so ``bob@example.com`` on its own mentions nobody). The handle runs over
letters, digits and ``_ . - + | : @``; a trailing ``.``, ``:`` or ``-`` is punctuation, not part
of it ("thanks @alice."). Display names are not handles: they are neither unique nor free of
spaces, so a mention by name could not resolve to one user. This module only finds the
candidates; pm.services.notifications resolves them to users of the tenant and members of
the project.
"""

from __future__ import annotations

import re

_MENTION = re.compile(r"(?<![\w@])@([\w][\w.+|:@-]*)")
_TRAILING = ".:-@"
MAX_HANDLE = 320  # the longest e-mail address; a user id is at most 255


def mention_handles(text: str) -> list[str]:
    """The distinct handles mentioned in ``text``, in order of first appearance."""
    if "@" not in text:
        return []
    handles: dict[str, None] = {}
    for match in _MENTION.finditer(text):
        handle = match.group(1).rstrip(_TRAILING)
        if handle and len(handle) <= MAX_HANDLE:
            handles[handle] = None
    return list(handles)
