"""Sampling inspection (抽检): at least 5 % of items per category, drawn with a recorded seed.

A round covers one batch or one period (items received in it). Items are
grouped by category — their catalog directory within 正卷/副卷 — and from each
group ceil(n × percent / 100) items (at least one) are drawn with
`random.Random(seed)` over the sorted item ids, so anyone with the seed and the
same items draws the same sample. Each sampled item gets a verdict with defect
categories; the pass rate per category is compared with the threshold
(99.99 % for the archive's own categories — the directories of the case type's
catalog — and 98 % for other content, from the contract). A supervisor who did
not inspect any of the items signs the round off. The printable report is a PDF.
"""

from __future__ import annotations

import json
import math
import random
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from io import BytesIO
from typing import Any

from sqlalchemy import select

from juanzong.central import audit, db
from juanzong.central.export.model import VOLUME_NAMES, load_dossiers
from juanzong.central.office.repository import OfficeRepository
from juanzong.central.office.users import Role, User
from juanzong.central.repository import Repository
from juanzong.shared.audit import Action
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.ids import Kind, new_id


class Verdict(StrEnum):
    """An inspected item's verdict in a sampling round (抽检)."""

    PASS = "pass"  # 合格
    FAIL = "fail"  # 不合格


VERDICT_NAMES: dict[str, str] = {Verdict.PASS: "合格", Verdict.FAIL: "不合格"}

MIN_PERCENT = 5
DEFECTS = {"image": "图像质量", "catalog": "目录位置", "name": "材料名称", "pages": "页数", "attachment": "挂接"}
THRESHOLD_SAME = 0.9999
THRESHOLD_OTHER = 0.98


@dataclass(frozen=True)
class Candidate:
    item_id: str
    category: str
    listed: bool  # its directory is in the catalog (the archive's own category)


@dataclass(frozen=True)
class CategoryResult:
    category: str
    sampled: int
    inspected: int
    passed: int
    threshold: float

    @property
    def rate(self) -> float | None:
        return None if not self.inspected else self.passed / self.inspected

    @property
    def ok(self) -> bool | None:
        return None if self.inspected < self.sampled else (self.rate or 0) >= self.threshold


def candidates(repo: Repository, *, batch_id: str = "", date_from: str = "", date_to: str = "") -> list[Candidate]:
    """Items in scope: those a batch carried, or those received in a period."""
    with repo.engine.connect() as conn:
        if batch_id:
            ids = set(conn.execute(select(db.items.c.item_id).where(db.items.c.batch_id == batch_id)).scalars())
            ids |= set(
                conn.execute(select(db.pages.c.item_id).where(db.pages.c.batch_id == batch_id, db.pages.c.item_id.is_not(None))).scalars()
            )
        else:
            t = db.intakes
            query = select(db.items.c.item_id).select_from(db.items.join(t, t.c.intake_id == db.items.c.intake_id))
            if date_from:
                query = query.where(t.c.received_at >= date_from)
            if date_to:
                query = query.where(t.c.received_at < f"{date_to}T99")
            ids = set(conn.execute(query).scalars())
    out = []
    for dossier in load_dossiers(repo) if ids else []:
        for item in dossier.items():
            if item.item_id in ids and item.pages:
                out.append(
                    Candidate(item.item_id, f"{VOLUME_NAMES.get(item.volume, item.volume)}·{item.catalog_dir}", item.catalog_order < 999)
                )
    return out


def draw(pool: list[Candidate], percent: int, seed: str) -> list[Candidate]:
    groups: dict[str, list[Candidate]] = {}
    for c in sorted(pool, key=lambda c: c.item_id):
        groups.setdefault(c.category, []).append(c)
    rng = random.Random(seed)
    chosen = []
    for category in sorted(groups):
        members = groups[category]
        k = min(len(members), max(1, math.ceil(len(members) * percent / 100)))
        chosen.extend(rng.sample(members, k))
    return chosen


def start_round(
    repo: Repository,
    office_repo: OfficeRepository,
    user: User,
    *,
    batch_id: str,
    date_from: str,
    date_to: str,
    percent: int,
    seed: str,
    now: datetime,
) -> str:
    if percent < MIN_PERCENT or percent > 100:
        raise AppError(ErrorCode.SAMPLING_INVALID, detail=f"抽检比例须在 {MIN_PERCENT}% 至 100% 之间")
    if not batch_id and not (date_from and date_to):
        raise AppError(ErrorCode.SAMPLING_INVALID, detail="请选择一个批次，或填写起止日期")
    pool = candidates(repo, batch_id=batch_id, date_from=date_from, date_to=date_to)
    if not pool:
        raise AppError(ErrorCode.SAMPLING_INVALID, detail="范围内没有已扫描的材料")
    seed = seed.strip() or secrets.token_hex(8)
    sample = draw(pool, percent, seed)
    round_id = new_id(Kind.BATCH)  # a short checked id; rounds are not synced
    scope = {"batch_id": batch_id} if batch_id else {"from": date_from, "to": date_to}
    office_repo.add_round(
        {
            "round_id": round_id,
            "scope": json.dumps(scope, ensure_ascii=False),
            "seed": seed,
            "percent": percent,
            "drawn_by": user.user_id,
            "drawn_at": now.isoformat(),
        },
        [{"round_id": round_id, "item_id": c.item_id, "category": _category_key(c), "defects": "[]", "note": ""} for c in sample],
    )
    audit.record(
        repo.engine,
        actor=user.user_id,
        action=Action.SAMPLING_DRAW,
        target=round_id,
        scope=scope,
        seed=seed,
        percent=percent,
        pool=len(pool),
        sampled=len(sample),
    )
    return round_id


def _category_key(c: Candidate) -> str:
    return ("1|" if c.listed else "0|") + c.category  # 1 = the archive's own category (99.99 %)


def category_label(key: str) -> str:
    return key.split("|", 1)[1]


def record_verdict(
    repo: Repository,
    office_repo: OfficeRepository,
    user: User,
    round_id: str,
    item_id: str,
    verdict: str,
    defects: list[str],
    note: str,
    now: datetime,
) -> None:
    head, items = _round(office_repo, round_id)
    if head["signed_off_at"]:
        raise AppError(ErrorCode.SAMPLING_INVALID, detail="该抽检已签核，不能再修改")
    if item_id not in {i["item_id"] for i in items}:
        raise AppError(ErrorCode.SAMPLING_INVALID, detail="该材料不在本次抽检样本中")
    if verdict not in set(Verdict):
        raise AppError(ErrorCode.SAMPLING_INVALID, detail="请选择合格或不合格")
    defects = [d for d in defects if d in DEFECTS]
    if verdict == Verdict.FAIL and not defects:
        raise AppError(ErrorCode.SAMPLING_INVALID, detail="不合格须选择至少一个缺陷类别")
    office_repo.set_verdict(
        round_id,
        item_id,
        verdict=verdict,
        defects=json.dumps(defects),
        note=note[:500],
        inspected_by=user.user_id,
        inspected_at=now.isoformat(),
    )
    audit.record(
        repo.engine, actor=user.user_id, action=Action.SAMPLING_VERDICT, target=item_id, round=round_id, verdict=verdict, defects=defects
    )


def sign_off(repo: Repository, office_repo: OfficeRepository, user: User, round_id: str, now: datetime) -> None:
    _head, items = _round(office_repo, round_id)
    open_items = [i for i in items if not i["verdict"]]
    if open_items:
        raise AppError(ErrorCode.SAMPLING_INCOMPLETE, round_id=round_id, count=len(open_items))
    if user.role is not Role.SUPERVISOR or user.user_id in {i["inspected_by"] for i in items}:
        raise AppError(ErrorCode.SAMPLING_SAME_PERSON)
    office_repo.sign_off(round_id, user.user_id, now.isoformat())
    audit.record(
        repo.engine,
        actor=user.user_id,
        action=Action.SAMPLING_SIGNOFF,
        target=round_id,
        results={category_label(r.category): f"{r.passed}/{r.inspected}" for r in results(items)},
    )


def _round(office_repo: OfficeRepository, round_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    found = office_repo.round(round_id)
    if found is None:
        raise AppError(ErrorCode.SAMPLING_NOT_FOUND, round_id=round_id)
    return found


def results(items: list[dict[str, Any]]) -> list[CategoryResult]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for i in items:
        groups.setdefault(i["category"], []).append(i)
    out = []
    for key, members in sorted(groups.items()):
        inspected = [m for m in members if m["verdict"]]
        out.append(
            CategoryResult(
                key,
                len(members),
                len(inspected),
                sum(m["verdict"] == Verdict.PASS for m in inspected),
                THRESHOLD_SAME if key.startswith("1|") else THRESHOLD_OTHER,
            )
        )
    return out


def report_pdf(head: dict[str, Any], items: list[dict[str, Any]], names: dict[str, str]) -> bytes:
    """The printable inspection report (A4, Chinese, every sampled item and the pass rates)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    font = _cjk_font()
    buf = BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4)
    pdf.setTitle(f"抽检报告 {head['round_id']}")
    y = A4[1] - 20 * mm

    def line(text: str, size: int = 10, gap: float = 6.5) -> None:
        nonlocal y
        if y < 20 * mm:
            pdf.showPage()
            y = A4[1] - 20 * mm
        pdf.setFont(font, size)
        pdf.drawString(18 * mm, y, text)
        y -= gap * mm

    line("卷宗电子化抽检报告", 16, 10)
    line(f"抽检编号 {head['round_id']}    比例 {head['percent']}%    随机种子 {head['seed']}")
    line(f"范围 {head['scope']}    抽样人 {head['drawn_by']}    抽样时间 {head['drawn_at'][:16]}")
    line(f"签核 {head['signed_off_by'] or '（未签核）'}    {(head['signed_off_at'] or '')[:16]}", gap=9)
    for r in results(items):
        rate = "—" if r.rate is None else f"{r.rate * 100:.2f}%"
        verdict = {True: "达标", False: "未达标", None: "未检完"}[r.ok]
        line(
            f"{category_label(r.category)}：抽 {r.sampled} 件，合格 {r.passed}/{r.inspected}，合格率 {rate}，要求 {r.threshold * 100:.2f}%，{verdict}"
        )
    y -= 4 * mm
    for i in items:
        defects = "、".join(DEFECTS[d] for d in i["defects"]) or "—"
        verdict = VERDICT_NAMES.get(i["verdict"] or "", "未检")
        line(
            f"{i['item_id']}  {names.get(i['item_id'], '')}  {verdict}  缺陷：{defects}  {i['note']}  检查人 {i['inspected_by'] or '—'}",
            9,
            5.5,
        )
    pdf.save()
    return buf.getvalue()


def _cjk_font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    from juanzong.shared.errors import AppError
    from juanzong.shared.fonts import pdf_font

    try:
        return pdf_font()
    except AppError:  # no CJK font installed: reportlab's built-in CID font still shows Chinese
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
        return "STSong-Light"
