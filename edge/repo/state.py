"""The appliance's settings state: small named values the operator sets and ingest reads."""

from __future__ import annotations

from enum import StrEnum

from sqlite_utils import Database


class StateKey(StrEnum):
    ACTIVE_ITEM = "active_item"  # pages without a cover sheet go to this item
    REPLACE_TARGET = "replace_target"  # the next page scanned replaces this page
    LOCKDOWN_ROOT = "lockdown_root"  # where `edge lockdown --apply` installed the OS profile ("/" on an appliance)


def get(db: Database, key: StateKey) -> str | None:
    row = db.execute("SELECT value FROM settings_state WHERE key = ?", [str(key)]).fetchone()
    return row[0] if row else None


def put(db: Database, key: StateKey, value: str | None) -> None:
    """Set the value; None removes it."""
    if value is None:
        db.execute("DELETE FROM settings_state WHERE key = ?", [str(key)])
        return
    db.execute(
        "INSERT INTO settings_state(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [str(key), value],
    )
