"""The dossier as the court's systems read it: case → volume → catalog directory → item → page.

Every export (dossier tree, SQL Server index, Excel catalogue, per-item ZIP) is
a rendering of these values, so they can never disagree about order or page
numbers. Order follows the SPC catalog: 正卷 before 副卷, directories in catalog
order, items in the order they were received; page numbers run through the
volume (卷内页号), which is what a 卷内目录 prints as start and end page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from juanzong.central import db
from juanzong.central.repository import Repository
from juanzong.shared.caseno import parse_case_number
from juanzong.shared.catalog import Catalog, catalog_for
from juanzong.shared.errors import AppError, ErrorCode

VOLUME_NAMES = {"main": "正卷", "internal": "副卷"}
UNKNOWN_ORDER = 999  # a directory the catalog does not list (a court's own) sorts last, by name


@dataclass(frozen=True)
class PageEntry:
    page_id: str
    page_no: int  # within the item
    volume_page_no: int  # within the volume (卷内页号)
    side: str
    blob_sha256: str
    source_sha256: str
    blob_kind: str


@dataclass(frozen=True)
class ItemEntry:
    item_id: str
    intake_id: str
    order: int  # position in its volume (卷内目录 顺序号), from 1
    name: str
    catalog_dir: str
    catalog_order: int
    volume: str
    declared_pages: int
    submitter: str
    received_at: str
    appliance_id: str
    pages: tuple[PageEntry, ...]

    @property
    def page_range(self) -> tuple[int, int] | None:
        if not self.pages:
            return None
        return self.pages[0].volume_page_no, self.pages[-1].volume_page_no


@dataclass(frozen=True)
class VolumeEntry:
    volume: str
    items: tuple[ItemEntry, ...]

    @property
    def name(self) -> str:
        return VOLUME_NAMES.get(self.volume, self.volume)

    @property
    def page_count(self) -> int:
        return sum(len(i.pages) for i in self.items)


@dataclass(frozen=True)
class CaseDossier:
    case_number: str
    type_code: str
    court: str
    volumes: tuple[VolumeEntry, ...]

    def items(self) -> list[ItemEntry]:
        return [item for v in self.volumes for item in v.items]


def load_dossiers(repo: Repository, *, case: str | None = None, since: str | None = None) -> list[CaseDossier]:
    """Every case with items at central (or one case, or those received since an ISO time)."""
    wanted = parse_case_number(case).canonical if case else None
    with repo.engine.connect() as conn:
        intakes = [dict(r._mapping) for r in conn.execute(select(db.intakes).order_by(db.intakes.c.received_at))]
        items = [dict(r._mapping) for r in conn.execute(select(db.items))]
        pages = [
            dict(r._mapping)
            for r in conn.execute(select(db.pages).where(db.pages.c.page_no.is_not(None)).order_by(db.pages.c.item_id, db.pages.c.page_no))
        ]
    cases: dict[str, list[dict[str, Any]]] = {}
    for intake in intakes:
        if (wanted and intake["case_number"] != wanted) or (since and intake["received_at"] < since):
            continue
        cases.setdefault(intake["case_number"], []).append(intake)
    if wanted and not cases:
        raise AppError(ErrorCode.CASE_NOT_FOUND, case_number=wanted)
    by_intake: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_intake.setdefault(item["intake_id"], []).append(item)
    by_item: dict[str, list[dict[str, Any]]] = {}
    for page in pages:
        by_item.setdefault(page["item_id"], []).append(page)
    return [_dossier(number, its, by_intake, by_item) for number, its in sorted(cases.items())]


def _dossier(number: str, intakes: list[dict[str, Any]], by_intake: dict, by_item: dict) -> CaseDossier:
    case = json.loads(intakes[0]["record"]).get("case", {})
    type_code, court = case.get("type_code", ""), case.get("court", "")
    order = _CatalogOrder(type_code, court)
    rows = [(intake, item) for intake in intakes for item in sorted(by_intake.get(intake["intake_id"], []), key=lambda i: i["seq"])]
    volumes = []
    for volume in ("main", "internal"):
        chosen = [(t, i) for t, i in rows if i["volume"] == volume]
        chosen.sort(key=lambda ti: (order.of(volume, _dir(ti[1])), _dir(ti[1]), ti[0]["received_at"], ti[1]["seq"]))
        if chosen:
            volumes.append(VolumeEntry(volume, _numbered(chosen, order, by_item)))
    return CaseDossier(number, type_code, court, tuple(volumes))


def _numbered(rows: list[tuple[dict, dict]], order: _CatalogOrder, by_item: dict) -> tuple[ItemEntry, ...]:
    out, next_page = [], 1
    for n, (intake, item) in enumerate(rows, start=1):
        pages = []
        for p in by_item.get(item["item_id"], []):
            pages.append(PageEntry(p["page_id"], p["page_no"], next_page, p["side"], p["blob_sha256"], p["source_sha256"], p["blob_kind"]))
            next_page += 1
        out.append(
            ItemEntry(
                item["item_id"],
                intake["intake_id"],
                n,
                item["name"],
                _dir(item),
                order.of(item["volume"], _dir(item)),
                item["volume"],
                item["declared_pages"],
                intake["submitter"],
                intake["received_at"],
                item["appliance_id"],
                tuple(pages),
            )
        )
    return tuple(out)


def _dir(item: dict[str, Any]) -> str:
    return json.loads(item["record"]).get("catalog_dir") or item["name"]


class _CatalogOrder:
    """Position of a directory in the case type's catalog; an unlisted name is placed where
    the catalog would suggest it (as the appliance does at intake), else last."""

    def __init__(self, type_code: str, court: str) -> None:
        try:
            self.catalog: Catalog | None = catalog_for(type_code, court=court)
        except AppError:
            self.catalog = None

    def of(self, volume: str, name: str) -> int:
        if self.catalog is None:
            return UNKNOWN_ORDER
        entries = self.catalog.entries(volume) if volume in ("main", "internal") else ()
        exact = next((e.seq for e in entries if e.name == name), None)
        if exact is not None:
            return exact
        suggested = self.catalog.suggest(name)
        return suggested.seq if suggested.volume == volume else UNKNOWN_ORDER
