"""docs/architecture.md stays true: every path and module it names exists, and every module is named.

A module counts as named when the document writes its path (`edge/intake.py`), its dotted
name (`edge.items`), or its package folder together with its file or bare name on the same
table row or paragraph (`central/office/` — `app.py`, `views.py`; `edge/repo/` (`intakes`, `items`)).
A package's `__init__.py` is named by its folder; Alembic revisions by `central/migrations/versions/`.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "architecture.md"
PACKAGES = ("edge", "central", "shared")
TOPS = (*PACKAGES, "tests", "firmware_profiles", "docs", "scripts")
PATH = re.compile(r"(?<![\w/.-])((?:" + "|".join(TOPS) + r")/[\w./-]*)")
DOTTED = re.compile(r"(?<![\w/.-])((?:" + "|".join(PACKAGES) + r")(?:\.\w+)+)")
CODE = re.compile(r"`([^`\n]+)`")
WHOLE_FOLDERS = ("central/migrations/versions/",)  # revisions, one per schema change: the folder is named


def doc_text() -> str:
    return DOC.read_text("utf-8")


def named_paths(text: str) -> set[str]:
    """Repository paths the document writes inside `code` spans (placeholders like <name> skipped)."""
    return {m.rstrip(".") for span in CODE.findall(text) if "<" not in span and "NNN" not in span for m in PATH.findall(span)}


def named_dotted(text: str) -> set[str]:
    return {m for span in CODE.findall(text) for m in DOTTED.findall(span)}


def dotted_exists(name: str) -> bool:
    """`edge.items` is a module; `shared.manifest.Suite` is a name in one."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        module = "juanzong." + ".".join(parts[:cut])
        try:
            spec = importlib.util.find_spec(module)
        except ModuleNotFoundError:
            spec = None
        if spec is None:
            continue
        if cut == len(parts):
            return True
        obj = __import__(module, fromlist=["_"])
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def modules() -> list[Path]:
    return sorted(p.relative_to(REPO) for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py"))


def is_named(module: Path, text: str, blocks: list[str]) -> bool:
    folder = module.parent.as_posix() + "/"
    if module.name == "__init__.py" or folder in WHOLE_FOLDERS:
        return folder in text
    dotted = ".".join(module.with_suffix("").parts)
    if module.as_posix() in text or re.search(re.escape(dotted) + r"(?![\w])", text):
        return True
    bare = re.compile("`" + re.escape(module.stem) + r"(?:\.py)?(?:[`(:\s])")
    nested = len(module.parts) > 2  # `edge/` beside `bench` is no naming: top-level modules by path
    return nested and any(folder in block and bare.search(block) for block in blocks)


def blocks_of(text: str) -> list[str]:
    """Table rows and paragraphs: a row is one line, a paragraph runs to the next blank line."""
    rows = [line for line in text.splitlines() if line.startswith("|")]
    return rows + [b for b in re.split(r"\n\s*\n", text) if not b.lstrip().startswith("|")]


def test_every_path_the_document_names_exists() -> None:
    text = doc_text()
    paths = named_paths(text)
    assert len(paths) > 100  # the table is read, not skipped
    missing = sorted(p for p in paths if not (REPO / p).exists())
    assert missing == [], f"docs/architecture.md names paths that do not exist: {missing}"


def test_every_dotted_module_the_document_names_exists() -> None:
    missing = sorted(name for name in named_dotted(doc_text()) if not dotted_exists(name))
    assert missing == [], f"docs/architecture.md names modules or names that do not exist: {missing}"


def test_every_module_is_named_in_the_document() -> None:
    text = doc_text()
    blocks = blocks_of(text)
    unnamed = [m.as_posix() for m in modules() if not is_named(m, text, blocks)]
    assert unnamed == [], f"modules docs/architecture.md does not name (add them where they belong): {unnamed}"


def test_where_a_change_belongs_covers_the_common_changes() -> None:
    section = doc_text().split("## Where a change belongs", 1)[1]
    for change in ("A crypto suite", "A manifest field", "A kiosk screen", "A new export format", "A domain rule"):
        assert f"- {change}" in section, change
