"""What a counter clerk would regret: checked before a handover is registered.

Each rule refuses with a stable code and the rule in Chinese, before anything
is stored (the deadline and the catalog are edge.intake's business):

- the submitter is missing or blank (INTAKE_SUBMITTER_MISSING);
- the submitter or an item name is not one line of at most 100 characters
  (INTAKE_TEXT_INVALID): they are printed on receipts and cover sheets, and a
  newline or a direction-override character misprints or hides text;
- an item declares more pages than `max_declared_pages` (default 5,000; a
  typo such as 30000 for 30) (INTAKE_PAGES_ABSURD) — 0 pages never parses;
- the case year lies after the current year (CASE_YEAR_IN_FUTURE): the clock
  is injected, so the rule is tested at any date;
- an item name suggests classified material (涉密, 机密, 绝密, 秘密) and the
  clerk has not confirmed it is not (ITEM_MAYBE_CLASSIFIED): classified
  material is never scanned into this system, and a civil case about a
  商业秘密 (trade secret) is confirmed explicitly, on record.

`catalog_note` explains a catalog placement the clerk did not choose but
should see: a 副卷 item whose name maps only to a 正卷 directory.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from juanzong.shared.errors import AppError, ErrorCode

CLASSIFIED_WORDS = ("涉密", "绝密", "机密", "秘密")
DEFAULT_MAX_PAGES = 5000
MAX_TEXT = 100  # characters of a submitter or an item name


@dataclass(frozen=True)
class IntakeFacts:
    """What the rules look at, whatever the input path (command line, kiosk)."""

    submitter: str
    case_year: int | None  # None while the case is not filed yet (待立案)
    items: tuple[tuple[str, int], ...]  # (name, declared pages)
    now: datetime
    max_pages: int = DEFAULT_MAX_PAGES
    confirmed_not_classified: bool = False


def check(facts: IntakeFacts) -> list[str]:
    """Refuse (AppError) what breaks a rule; return the notes to show with the receipt."""
    _submitter(facts.submitter)
    _one_line("提交人", facts.submitter)
    for name, _ in facts.items:
        _one_line("材料名称", name)
    _pages(facts.items, facts.max_pages)
    _case_year(facts.case_year, facts.now)
    return _classified(facts.items, facts.confirmed_not_classified)


def _submitter(submitter: str) -> None:
    if not (submitter or "").strip():
        raise AppError(ErrorCode.INTAKE_SUBMITTER_MISSING)


def _one_line(what: str, text: str) -> None:
    if any(unicodedata.category(ch).startswith("C") for ch in text) or len(text.strip()) > MAX_TEXT:
        shown = "".join(ch if not unicodedata.category(ch).startswith("C") else " " for ch in text)[:40]
        raise AppError(ErrorCode.INTAKE_TEXT_INVALID, what=what, limit=MAX_TEXT, text=shown)


def _pages(items: tuple[tuple[str, int], ...], limit: int) -> None:
    for name, pages in items:
        if pages > limit:
            raise AppError(ErrorCode.INTAKE_PAGES_ABSURD, name=name, pages=pages, limit=limit)


def _case_year(year: int | None, now: datetime) -> None:
    if year is not None and year > now.year:
        raise AppError(ErrorCode.CASE_YEAR_IN_FUTURE, year=year, current=now.year)


def _classified(items: tuple[tuple[str, int], ...], confirmed: bool) -> list[str]:
    notes = []
    for name, _ in items:
        word = next((w for w in CLASSIFIED_WORDS if w in name), None)
        if word is None:
            continue
        if not confirmed:
            raise AppError(ErrorCode.ITEM_MAYBE_CLASSIFIED, name=name, word=word)
        notes.append(f"材料“{name}”的名称含“{word}”，经办人已确认不是涉密材料")
    return notes


def catalog_note(item_name: str, volume: str, chosen: str, fell_back: bool) -> str | None:
    if not fell_back:
        return None
    shown = "副卷" if volume == "internal" else "正卷"
    return f"材料“{item_name}”在{shown}目录中没有对应项，已暂归“{chosen}”；如不合适，请在材料后加“:目录=目录名称”重新登记"
