"""The exception queue: everything at central that needs a person, and what was done about it.

Built from the reconciliation report (漏扫/多扫/重码/跳码 per item, pages not
attached to an item), sequence gaps per scanning point, refused batches, and
the QC station's decisions the appliances reported inside the item and page
records: an item approved despite a page-count difference (with its reason),
an item approved but still waiting for the second person's check (双人质检),
a page kept despite a QC finding (with the reason) and a page discarded from
the numbering (with the reason). An item nobody has scanned yet is 待扫描,
not 漏扫; it becomes an exception only once its deadline has passed. The last
action a person recorded is shown with each entry (and audited).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from juanzong.central import audit
from juanzong.central.office.overview import item_statuses
from juanzong.central.office.repository import OfficeRepository
from juanzong.central.reconcile.report import QcSignOff, build_report
from juanzong.central.repository import Repository
from juanzong.shared.audit import Action, Outcome


@dataclass(frozen=True)
class Exception_:
    kind: str  # stable key: missing, extra, duplicate_no, skipped_no, unattached, seq_gap, refused, overdue,
    #            qc_override, qc_second_check, page_accepted, page_discarded
    label: str  # what a person reads
    target: str  # item id, appliance id, …
    where: str  # case number or scanning point
    detail: str
    action: dict[str, Any] | None = None


def build(repo: Repository, office_repo: OfficeRepository, now: datetime) -> list[Exception_]:
    report = build_report(repo)
    queue: list[Exception_] = []
    for intake in report.intakes:
        for item in intake.items:
            queue.extend(_item_exceptions(intake.case_number, item))
            queue.extend(_qc_exceptions(intake.case_number, item))
    queue.extend(_page_decisions(repo))
    overdue = [s for s in item_statuses(repo) if s.received == 0 and s.overdue(now)]
    queue.extend(
        Exception_("overdue", "超期未扫描", s.item_id, s.case_number, f"{s.name}：申报 {s.declared} 页，尚未扫描") for s in overdue
    )
    if report.unattached_pages:
        queue.append(Exception_("unattached", "未归属页面", "central", "全部扫描点", f"{report.unattached_pages} 页不属于任何材料"))
    for line in report.appliances:
        for lo, hi in line.seq_gaps:
            span = str(lo) if lo == hi else f"{lo}–{hi}"
            queue.append(
                Exception_(
                    "seq_gap", "批次序号缺失", f"{line.appliance_id}:{span}", line.name or line.appliance_id, f"批次序号 {span} 尚未收到"
                )
            )
    for appliance_id, count in refusals_by_appliance(repo.engine).items():
        queue.append(Exception_("refused", "拒收的批次", appliance_id, appliance_id, f"{count} 次拒收，见审计日志"))
    actions = office_repo.exception_actions()
    return [Exception_(e.kind, e.label, e.target, e.where, e.detail, actions.get((e.kind, e.target))) for e in queue]


def _item_exceptions(case_number: str, item: Any) -> list[Exception_]:
    out = []
    if item.received_pages and item.missing:
        out.append(
            Exception_(
                "missing", "漏扫", item.item_id, case_number, f"{item.name}：申报 {item.declared_pages} 页，收到 {item.received_pages} 页"
            )
        )
    if item.extra:
        out.append(
            Exception_(
                "extra", "多扫", item.item_id, case_number, f"{item.name}：申报 {item.declared_pages} 页，收到 {item.received_pages} 页"
            )
        )
    if item.duplicate_page_numbers:
        out.append(Exception_("duplicate_no", "重码", item.item_id, case_number, f"{item.name}：{item.duplicate_page_numbers} 处页号重复"))
    if item.skipped_page_numbers:
        out.append(Exception_("skipped_no", "跳码", item.item_id, case_number, f"{item.name}：{item.skipped_page_numbers} 处页号跳过"))
    return out


def _qc_exceptions(case_number: str, item: Any) -> list[Exception_]:
    """The item's QC sign-off: approved over a page-count difference, or waiting for the second check."""
    out = []
    if item.approved_by and item.approval_reason:
        out.append(
            Exception_(
                "qc_override",
                "质检放行",
                item.item_id,
                case_number,
                f"{item.name}：申报 {item.declared_pages} 页，收到 {item.received_pages} 页，"
                f"{item.approved_by} 批准放行，原因：{item.approval_reason}",
            )
        )
    if item.qc_state == QcSignOff.AWAITING_CHECK:
        out.append(
            Exception_(
                "qc_second_check",
                "待二次质检",
                item.item_id,
                case_number,
                f"{item.name}：{item.approved_by} 已批准，尚待第二人复核（双人质检）",
            )
        )
    return out


def _page_decisions(repo: Repository) -> list[Exception_]:
    """Pages kept despite a QC finding, and pages discarded from the numbering, each with its reason."""
    out = []
    for row in repo.pages_with_qc_decisions():
        record = json.loads(row["record"])
        where = row["case_number"] or "未归属"
        place = f"{row['name'] or '未归属页面'} 第 {row['page_no']} 页" if row["page_no"] else f"{row['name'] or '未归属页面'}"
        messages = {f.get("code"): f.get("message", "") for f in record.get("findings", [])}
        for accepted in record.get("accepted", []):
            finding = messages.get(accepted["code"]) or accepted["code"]
            out.append(
                Exception_(
                    "page_accepted",
                    "质检放行（页面）",
                    row["page_id"],
                    where,
                    f"{place}：{finding}，{accepted['by']} 保留此页，原因：{accepted['reason']}",
                )
            )
        if record.get("discard_reason"):
            out.append(
                Exception_(
                    "page_discarded",
                    "作废页面",
                    row["page_id"],
                    where,
                    f"{place}（{record.get('source_name', '')}）已作废，原因：{record['discard_reason']}",
                )
            )
    return out


def refusals_by_appliance(engine: Engine) -> dict[str, int]:
    """Batches and blobs central refused, per claimed or verified sender (from the audit trail)."""
    counts: Counter[str] = Counter()
    for rec, _ in audit.records(engine):
        if rec.action == Action.SYNC and rec.outcome == Outcome.REFUSED:
            counts[rec.actor] += 1
    return dict(counts)


def record_action(repo: OfficeRepository, engine: Engine, kind: str, target: str, action: str, user_id: str, now: datetime) -> None:
    repo.add_exception_action(kind[:32], target[:64], action, user_id, now.isoformat())
    audit.record(engine, actor=user_id, action=Action.EXCEPTION_ACTION, target=target[:64], kind=kind[:32], note=action)
