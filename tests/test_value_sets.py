"""Named value sets stay named: no literal audit action, outcome, page role or batch state
outside its definition (SQL included, through parameters), and one clock."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for d in ("edge", "central", "shared") for p in (ROOT / d).rglob("*.py"))
ARGPARSE_ACTIONS = {"store_true", "store_false", "append", "count", "store", "store_const", "version"}


def _hits(pattern: str, paths, allow=lambda m: False) -> list[str]:
    rx = re.compile(pattern)
    out = []
    for path in paths:
        for n, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            for m in rx.finditer(line):
                if not allow(m):
                    out.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    return out


def test_audit_actions_and_outcomes_are_named():
    actions = _hits(r'action="([a-z_]+)"', SOURCES, allow=lambda m: m.group(1) in ARGPARSE_ACTIONS)
    outcomes = _hits(r'outcome="[a-z_]+"', SOURCES)
    kiosk = _hits(r'\brecord\("[a-z_]+"', sorted((ROOT / "edge" / "web").rglob("*.py")))
    assert actions + outcomes + kiosk == [], "use shared.audit.Action / Outcome"


def test_sql_takes_roles_and_states_as_parameters():
    repo = sorted((ROOT / "edge" / "repo").rglob("*.py"))
    literal = _hits(r"\b(role|state)\s*(=|!=|IS NOT|IS|IN)\s*\(?\s*'", repo)
    assert literal == [], "pass PageRole / BatchState / JobState values as SQL parameters"


def test_one_clock():
    now = _hits(r"\bdatetime\.now\(|\bdatetime\.utcnow\(|\btime\.time\(\)|\bdate\.today\(\)", [p for p in SOURCES if p.name != "clock.py"])
    assert now == [], "read the time through shared.clock.now()"


def test_no_value_set_is_compared_with_a_string_literal():
    """Rows and values are compared with PageRole, BatchState, Severity, Action, Outcome, QcSignOff,
    BlobOutcome, BreakReason …, never with the bare string (a typo there would never match). A
    form's button (`request.form.get("action")`) is not a value set."""
    fields = r"(role|state|batch_state|severity|outcome|action|qc_state|reason|code)"
    rows = _hits(r'\[\s*"' + fields + r'"\s*\]\s*(==|!=|in)\s*[(\["\']', SOURCES)
    gets = _hits(r'(?<!form)\.get\(\s*"' + fields + r'"\s*\)\s*(==|!=|in)\s*[(\["\']', SOURCES)
    attrs = _hits(r"\." + fields + r'\s*(==|!=)\s*["\']', SOURCES)
    assert rows + gets + attrs == [], "compare with the StrEnum member"


def test_templates_compare_with_the_value_sets_by_name():
    """Kiosk and office templates get the value sets as globals (edge/web/formatting.py,
    central/office/formatting.py) and compare with them, never with a bare 'printed' or 'pass'."""
    templates = sorted(p for d in ("edge/web/templates", "central/office/templates") for p in (ROOT / d).rglob("*.html"))
    literal = _hits(r"\.(state|outcome|verdict|severity|side|action|role(\.value)?)\s*(==|!=)\s*'[a-z_]+'", templates)
    assert literal == [], "compare with the template global (ItemState, Severity, Outcome, Verdict …)"
