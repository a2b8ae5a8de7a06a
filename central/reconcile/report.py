"""The reconciliation report: what every scanning point declared against what arrived.

Per intake and item: declared pages, pages received, missing (漏扫: declared −
received when positive) and extra (多扫: received − declared when positive),
plus the numbering defects the contract forbids: duplicate page numbers (重码)
and skipped ones (跳码). In the totals, `duplicate_pages` counts one scanned
file stored under two page ids — what a retry bug would look like.
Per appliance: its batches and any gaps in its sequence numbers — a gap means
a batch sealed at the scanning point never arrived here (yet).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from juanzong.central.repository import Repository, utc_now
from juanzong.shared.ids import format_id


class QcSignOff(StrEnum):
    """The QC station's sign-off of an item, as central reads it from the manifest's `ItemQc`."""

    OPEN = "open"  # 未批准
    AWAITING_CHECK = "awaiting_check"  # 待复核 (双人质检: approved, the second person not yet)
    APPROVED = "approved"  # 已批准


@dataclass(frozen=True)
class ItemLine:
    item_id: str
    seq: int
    name: str
    volume: str
    declared_pages: int
    received_pages: int  # numbered pages that count against the declared ones
    distinct_page_nos: int
    max_page_no: int
    qc_state: QcSignOff = QcSignOff.OPEN  # the QC station's sign-off
    approved_by: str | None = None
    checked_by: str | None = None
    approval_reason: str = ""
    discarded_pages: int = 0
    blank_backs: int = 0  # blank back sides from duplex scanning: numbered and stored, never counted

    @property
    def missing(self) -> int:
        return max(0, self.declared_pages - self.received_pages)

    @property
    def extra(self) -> int:
        return max(0, self.received_pages - self.declared_pages)

    @property
    def duplicate_page_numbers(self) -> int:
        """重码: page rows sharing a page number with another row of this item."""
        return self.received_pages + self.blank_backs - self.distinct_page_nos

    @property
    def skipped_page_numbers(self) -> int:
        """跳码: numbers below the highest one that no page carries."""
        return max(0, self.max_page_no - self.distinct_page_nos)

    def to_dict(self) -> dict[str, Any]:
        head = {k: v for k, v in asdict(self).items() if k not in ("distinct_page_nos", "max_page_no")}
        return {
            **head,
            "missing": self.missing,
            "extra": self.extra,
            "duplicate_page_numbers": self.duplicate_page_numbers,
            "skipped_page_numbers": self.skipped_page_numbers,
        }


@dataclass(frozen=True)
class Figures:
    declared_pages: int
    received_pages: int
    missing: int
    extra: int

    @classmethod
    def of(cls, items: list[ItemLine]) -> Figures:
        return cls(
            declared_pages=sum(i.declared_pages for i in items),
            received_pages=sum(i.received_pages for i in items),
            missing=sum(i.missing for i in items),
            extra=sum(i.extra for i in items),
        )


@dataclass(frozen=True)
class IntakeLine:
    intake_id: str
    appliance_id: str
    case_number: str
    submitter: str
    received_at: str
    deadline: str
    urgent: bool
    items: tuple[ItemLine, ...]
    deadline_provisional: bool = False  # computed before the year's holiday arrangement was imported

    def to_dict(self) -> dict[str, Any]:
        head = {k: v for k, v in asdict(self).items() if k != "items"}
        return {**head, **asdict(Figures.of(list(self.items))), "items": [i.to_dict() for i in self.items]}


@dataclass(frozen=True)
class ApplianceLine:
    appliance_id: str
    name: str
    batches: int
    pages: int
    first_seq: int | None
    last_seq: int | None
    seq_gaps: tuple[tuple[int, int], ...]  # inclusive ranges of sequence numbers never received
    last_media_import: str | None = None  # air-gapped points: when a medium from it was last imported

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "seq_gaps": [list(g) for g in self.seq_gaps]}


@dataclass(frozen=True)
class Report:
    generated_at: str
    intakes: tuple[IntakeLine, ...]
    appliances: tuple[ApplianceLine, ...]
    unattached_pages: int  # pages not (yet) attached to any item
    duplicate_pages: int  # the same scanned file stored under two page ids
    discarded_unassigned_pages: int = 0  # pages without an item discarded at the scanning point

    def totals(self) -> dict[str, int]:
        all_items = [i for intake in self.intakes for i in intake.items]
        return {
            "intakes": len(self.intakes),
            "items": len(all_items),
            **asdict(Figures.of(all_items)),
            "unattached_pages": self.unattached_pages,
            "discarded_unassigned_pages": self.discarded_unassigned_pages,
            "duplicate_pages": self.duplicate_pages,
            "duplicate_page_numbers": sum(i.duplicate_page_numbers for i in all_items),
            "skipped_page_numbers": sum(i.skipped_page_numbers for i in all_items),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at,
            "totals": self.totals(),
            "intakes": [i.to_dict() for i in self.intakes],
            "appliances": [a.to_dict() for a in self.appliances],
        }


def build_report(repo: Repository) -> Report:
    by_intake: dict[str, list[ItemLine]] = {}
    for row in repo.items_with_received():
        line = ItemLine(**{f: row[f] for f in ItemLine.__dataclass_fields__ if f in row}, **_qc_fields(row["record"]))
        by_intake.setdefault(row["intake_id"], []).append(line)
    intakes = tuple(
        IntakeLine(
            **{f: row[f] for f in IntakeLine.__dataclass_fields__ if f not in ("items", "deadline_provisional")},
            items=tuple(by_intake.get(row["intake_id"], [])),
            deadline_provisional=_provisional(row),
        )
        for row in repo.intakes()
    )
    waiting, discarded = repo.unattached_pages()
    return Report(utc_now(), intakes, _appliance_lines(repo), waiting, repo.duplicate_sources(), discarded)


def _qc_fields(record: str) -> dict[str, Any]:
    """The QC station's sign-off the appliance sent with the item (shared.manifest.ItemQc)."""
    item = json.loads(record)
    qc = item.get("qc") or {}
    complete = bool(qc) and (not qc.get("two_person") or qc.get("checked_by") is not None)
    state = QcSignOff.OPEN if not qc else QcSignOff.APPROVED if complete else QcSignOff.AWAITING_CHECK
    return {
        "qc_state": state,
        "approved_by": qc.get("approved_by"),
        "checked_by": qc.get("checked_by"),
        "approval_reason": qc.get("reason", ""),
        "discarded_pages": item.get("discarded_pages", 0),
    }


def _appliance_lines(repo: Repository) -> tuple[ApplianceLine, ...]:
    sequences = repo.batch_sequences()
    carried = repo.last_media_imports()
    lines = []
    for appliance in repo.appliances():
        batches = sequences.get(appliance.appliance_id, [])
        seqs = [b[0] for b in batches]
        lines.append(
            ApplianceLine(
                appliance_id=appliance.appliance_id,
                name=appliance.name,
                batches=len(batches),
                pages=sum(b[1] for b in batches),
                first_seq=min(seqs) if seqs else None,
                last_seq=max(seqs) if seqs else None,
                seq_gaps=sequence_gaps(seqs),
                last_media_import=carried.get(appliance.appliance_id),
            )
        )
    return tuple(lines)


def sequence_gaps(seqs: list[int]) -> tuple[tuple[int, int], ...]:
    """Inclusive ranges missing from 1 (or 0, if a producer counts from 0) up to the highest seq."""
    gaps: list[tuple[int, int]] = []
    expected = min([1, *seqs])
    for seq in sorted(set(seqs)):
        if seq > expected:
            gaps.append((expected, seq - 1))
        expected = seq + 1
    return tuple(gaps)


def _provisional(row: dict[str, Any]) -> bool:
    # an optional manifest field, kept in the stored record; absent in older manifests = official
    return json.loads(row["record"]).get("deadline_provisional") is True


def render_text(report: Report) -> str:
    """The report for the archive office, in Chinese."""
    lines: list[str] = []
    for intake in report.intakes:
        flag = "（加急）" if intake.urgent else ""
        provisional = "（暂定）" if intake.deadline_provisional else ""
        lines.append(
            f"收取登记 {format_id(intake.intake_id)}{flag}  案号 {intake.case_number}  提交人 {intake.submitter}  办理时限 {intake.deadline}{provisional}"
        )
        lines.extend(_item_text(item) for item in intake.items)
        if not intake.items:
            lines.append("  （尚无材料）")
    t = report.totals()
    lines.append(
        f"合计：收取登记 {t['intakes']} 件，材料 {t['items']} 件，申报 {t['declared_pages']} 页，"
        f"已收 {t['received_pages']} 页，漏扫 {t['missing']} 页，多扫 {t['extra']} 页，未归属页面 {t['unattached_pages']} 页，"
        f"扫描点作废的未归属页面 {t['discarded_unassigned_pages']} 页，"
        f"重复页面 {t['duplicate_pages']} 页，重码 {t['duplicate_page_numbers']} 处，跳码 {t['skipped_page_numbers']} 处"
    )
    lines.extend(_appliance_text(a) for a in report.appliances)
    return "\n".join(lines)


def _item_text(item: ItemLine) -> str:
    text = f"  材料 {item.seq}. {item.name}（{format_id(item.item_id)}）  申报 {item.declared_pages} 页  已收 {item.received_pages} 页"
    if item.missing:
        text += f"  漏扫 {item.missing} 页"
    if item.extra:
        text += f"  多扫 {item.extra} 页"
    if item.duplicate_page_numbers:
        text += f"  重码 {item.duplicate_page_numbers} 处"
    if item.skipped_page_numbers:
        text += f"  跳码 {item.skipped_page_numbers} 处"
    if item.discarded_pages:
        text += f"  作废 {item.discarded_pages} 页"
    if item.blank_backs:
        text += f"  空白背面 {item.blank_backs} 页（不计页数）"
    complete = not (item.missing or item.extra or item.duplicate_page_numbers or item.skipped_page_numbers)
    text = text + "  齐全" if complete else text
    return text + _qc_text(item)


def _qc_text(item: ItemLine) -> str:
    if item.qc_state == QcSignOff.APPROVED:
        who = (item.approved_by or "") + (f"，{item.checked_by} 复核" if item.checked_by else "")
        return f"  已批准（{who}）" + (f"  批准原因：{item.approval_reason}" if item.approval_reason else "")
    return f"  待复核（{item.approved_by} 已批准）" if item.qc_state == QcSignOff.AWAITING_CHECK else "  未批准"


def _appliance_text(a: ApplianceLine) -> str:
    head = f"设备 {format_id(a.appliance_id)}（{a.name or '未命名'}）：批次 {a.batches} 个，页面 {a.pages} 页"
    if a.batches:
        head += f"，序号 {a.first_seq}–{a.last_seq}"
    if a.seq_gaps:
        gaps = "、".join(str(lo) if lo == hi else f"{lo}–{hi}" for lo, hi in a.seq_gaps)
        head += f"，缺失序号 {gaps}"
    if a.last_media_import:
        head += f"，最近一次介质导入 {a.last_media_import}"
    return head
