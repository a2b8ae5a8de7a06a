"""Reconciliation per scanning point and batch: what each batch declared against what arrived.

Per batch in sequence order: the items it brought (their latest version) with
declared and received pages, 漏扫/多扫 (only once something of the item was
scanned: nothing yet is 待扫描), 重码/跳码, and the pages it brought that are not
attached to an item or were discarded at the scanning point. A sequence number
never received is a row of its own (批次未收到), and the point's refused batches
are counted from the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass

from juanzong.central.reconcile.report import ItemLine, sequence_gaps
from juanzong.central.repository import Repository


@dataclass(frozen=True)
class BatchLine:
    seq: int
    batch_id: str | None  # None: this sequence number never arrived
    received_at: str | None = None
    pages: int = 0
    items: int = 0
    declared: int = 0
    received: int = 0
    missing: int = 0  # 漏扫, of items with at least one page
    extra: int = 0  # 多扫
    waiting: int = 0  # items with nothing scanned yet (待扫描)
    duplicate_no: int = 0  # 重码
    skipped_no: int = 0  # 跳码
    unattached: int = 0
    discarded: int = 0

    @property
    def clean(self) -> bool:
        return self.batch_id is not None and not (self.missing or self.extra or self.duplicate_no or self.skipped_no or self.unattached)


@dataclass(frozen=True)
class PointBatches:
    appliance_id: str
    name: str
    lines: tuple[BatchLine, ...]
    refusals: int


def by_point(repo: Repository, refusals: dict[str, int]) -> list[PointBatches]:
    items = _items_by_batch(repo)
    pages = repo.pages_per_batch()
    rows: dict[str, list[BatchLine]] = {}
    for b in repo.batch_rows():
        rows.setdefault(b["appliance_id"], []).append(_line(b, items.get(b["batch_id"], []), pages.get(b["batch_id"], (0, 0, 0))))
    out = []
    for appliance in repo.appliances():
        lines = rows.get(appliance.appliance_id, [])
        gaps = [BatchLine(seq, None) for lo, hi in sequence_gaps([line.seq for line in lines]) for seq in range(lo, hi + 1)]
        out.append(
            PointBatches(
                appliance.appliance_id,
                appliance.name,
                tuple(sorted(lines + gaps, key=lambda x: x.seq)),
                refusals.get(appliance.appliance_id, 0),
            )
        )
    return out


def _items_by_batch(repo: Repository) -> dict[str, list[ItemLine]]:
    out: dict[str, list[ItemLine]] = {}
    for row in repo.items_with_received():
        out.setdefault(row["batch_id"], []).append(ItemLine(**{f: row[f] for f in ItemLine.__dataclass_fields__ if f in row}))
    return out


def _line(batch: dict, items: list[ItemLine], pages: tuple[int, int, int]) -> BatchLine:
    scanned = [i for i in items if i.received_pages]
    return BatchLine(
        seq=batch["seq"],
        batch_id=batch["batch_id"],
        received_at=batch["received_at"],
        pages=pages[0],
        items=len(items),
        declared=sum(i.declared_pages for i in items),
        received=sum(i.received_pages for i in items),
        missing=sum(i.missing for i in scanned),
        extra=sum(i.extra for i in scanned),
        waiting=len(items) - len(scanned),
        duplicate_no=sum(i.duplicate_page_numbers for i in items),
        skipped_no=sum(i.skipped_page_numbers for i in items),
        unattached=pages[1],
        discarded=pages[2],
    )
