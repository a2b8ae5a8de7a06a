"""Orphan blobs: stored, but named by no manifest's page.

A blob is uploaded before the manifest that names it, so a fresh orphan is
normal (its manifest is on its way); one that stays an orphan past the grace
period is left over from a batch that was refused or never sent. `central
verify` lists them; `central orphans --remove` deletes those older than the
grace period, re-checking each one just before, one audit row per blob.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from juanzong.central import audit
from juanzong.central.home import Central
from juanzong.shared import clock
from juanzong.shared.audit import Action

DEFAULT_GRACE = timedelta(hours=24)


@dataclass(frozen=True)
class Orphan:
    sha256: str
    size: int | None
    stored_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "size": self.size,
            "stored_at": self.stored_at.isoformat(timespec="seconds") if self.stored_at else None,
        }


def orphan_names(central: Central) -> Iterator[str]:
    """Stored names no page refers to (both sides walked in hash order)."""
    refs = (ref.blob_sha256 for ref in central.repo.page_refs_by_blob())
    current = next(refs, None)
    for name in central.store.names():
        while current is not None and current < name:
            current = next(refs, None)
        if current != name:
            yield name


def find_orphans(central: Central) -> list[Orphan]:
    return [Orphan(name, central.store.size(name), central.store.stored_at(name)) for name in orphan_names(central)]


def remove_orphans(
    central: Central, grace: timedelta = DEFAULT_GRACE, now: datetime | None = None, actor: str = "archive office"
) -> tuple[list[Orphan], list[Orphan]]:
    """Delete orphans older than `grace`; returns (removed, kept because too young)."""
    now = now or clock.now()
    removed, kept = [], []
    for orphan in find_orphans(central):
        if orphan.stored_at is None or now - orphan.stored_at < grace:
            kept.append(orphan)
            continue
        if central.repo.blob_referenced(orphan.sha256):  # a manifest arrived meanwhile
            continue
        central.store.delete(orphan.sha256)
        audit.record(
            central.repo.engine,
            actor=actor,
            action=Action.ORPHAN_REMOVE,
            target=orphan.sha256,
            size=orphan.size,
            stored_at=orphan.to_dict()["stored_at"],
            grace_minutes=int(grace.total_seconds() // 60),
        )
        removed.append(orphan)
    return removed, kept
