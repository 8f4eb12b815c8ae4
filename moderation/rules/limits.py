"""How large a rules file and its word lists may be: each list is compiled into one automaton.

A ten-megabyte word list once took 87 s and gigabytes of memory to load; these caps
refuse such files up front with a ``file:line`` error instead. The values are the
settings named in SETTING_NAMES (declared, with their defaults, in ``moderation/config.py``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..config import SETTINGS

# The setting behind each limit.
SETTING_NAMES = {
    "max_file_bytes": "RULES_MAX_FILE_BYTES",
    "max_list_entries": "WORDLIST_MAX_ENTRIES",
    "max_entry_chars": "WORDLIST_MAX_ENTRY_CHARS",
    "max_total_chars": "WORDLISTS_MAX_TOTAL_CHARS",
}
_SETTINGS = {s.name: s for s in SETTINGS if s.name in SETTING_NAMES.values()}


def _default(field: str) -> int:
    return int(_SETTINGS[SETTING_NAMES[field]].default())


@dataclass(frozen=True, slots=True)
class RuleLimits:
    """Caps on the rules file and on the word lists compiled from it."""

    max_file_bytes: int = _default("max_file_bytes")  # rules.yaml and each word-list file
    max_list_entries: int = _default("max_list_entries")  # entries one `words` condition compiles
    max_entry_chars: int = _default("max_entry_chars")  # characters of one entry
    max_total_chars: int = _default("max_total_chars")  # characters of all entries the rules compile

    @classmethod
    def from_settings(cls, values: Mapping[str, Any]) -> RuleLimits:
        """The limits from a mapping of settings (an app's config); missing ones keep defaults."""
        return cls(**{field: int(values[name]) for field, name in SETTING_NAMES.items() if name in values})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RuleLimits:
        """The limits from environment variables, as `flask rules check` and tools read them."""
        environ = os.environ if environ is None else environ
        values = {name: s.cast(environ[name]) for name, s in _SETTINGS.items() if environ.get(name, "") != ""}
        return cls.from_settings(values)


def setting_for(field: str) -> str:
    """The setting that raises a limit, for error messages."""
    return SETTING_NAMES[field]
