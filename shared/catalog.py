"""The dossier catalog (卷宗目录): which directory a material belongs in, in which volume.

Every case type code (类型代字) maps to one ordered list of 正卷 (``main``) and 副卷
(``internal``) entries. The lists, the mapping and the keyword table that turns what a clerk
types (起诉状, 身份证复印件 …) into an entry are data: ``shared/data/catalog.toml``, versioned,
with source marks. A court that files differently drops ``<override_dir>/<法院代字>.toml`` next
to the appliance settings; each ``[[list]]`` in it replaces the list of the same name (fields it
leaves out are inherited) or adds a new one, and takes over the type codes it names.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from juanzong.shared.caseno import case_types
from juanzong.shared.errors import AppError, ErrorCode

DEFAULT_PATH = Path(__file__).with_name("data") / "catalog.toml"
VOLUMES = ("main", "internal")
# Only plain court codes (京0102, 最高法) name an override file: no path tricks from free text.
_COURT_FILE_RE = re.compile(r"[^\W\d_]+[0-9]*")
_MIN_OVERLAP = 2  # shortest substring that counts as a match in suggest()'s last resort


@dataclass(frozen=True)
class CatalogEntry:
    seq: int  # position within its volume, from 1
    name: str
    volume: str  # "main" | "internal"


@dataclass(frozen=True)
class KeywordRule:
    words: tuple[str, ...]
    entries: tuple[str, ...]  # candidate entry names, first one present in the list wins


@dataclass(frozen=True)
class Catalog:
    version: str
    list_name: str
    type_codes: tuple[str, ...]
    source: str
    main: tuple[CatalogEntry, ...]
    internal: tuple[CatalogEntry, ...]
    fallback: str = ""  # main entry for anything unrecognised (其他与诉讼活动相关的材料)
    keywords: tuple[KeywordRule, ...] = ()

    def entries(self, volume: str | None = None) -> tuple[CatalogEntry, ...]:
        if volume is None:
            return self.main + self.internal
        if volume not in VOLUMES:
            raise ValueError(f"volume must be one of {VOLUMES}, not {volume!r}")
        return self.main if volume == "main" else self.internal

    def entry(self, name: str, volume: str | None = None) -> CatalogEntry:
        """The entry with exactly this name; main is searched before internal (结案相关材料 is in both for 执)."""
        for e in self.entries(volume):
            if e.name == name:
                return e
        raise AppError(ErrorCode.CATALOG_DIR_UNKNOWN, name=name, list_name=self.list_name, volume=volume)

    def find(self, name: str) -> CatalogEntry | None:
        return next((e for e in self.entries() if e.name == name), None)

    def suggest(self, item_name: str) -> CatalogEntry:
        """Best entry for a material name a clerk typed; never fails (falls back to 其他…)."""
        text = "".join(item_name.split())
        return self.find(text) or self._by_keyword(text) or self._by_overlap(text) or self.entry(self.fallback, "main")

    def _by_keyword(self, text: str) -> CatalogEntry | None:
        scored = []
        for order, rule in enumerate(self.keywords):
            hit = max((len(w) for w in rule.words if w in text), default=0)
            if hit:
                scored.append((-hit, order, rule))
        for _, _, rule in sorted(scored, key=lambda s: s[:2]):
            for name in rule.entries:
                if (found := self.find(name)) is not None:
                    return found
        return None

    def _by_overlap(self, text: str) -> CatalogEntry | None:
        """Last resort: an entry name that contains what was typed, or is contained in it."""
        if len(text) < _MIN_OVERLAP:
            return None
        for e in self.main:
            if text in e.name or e.name in text:
                return e
        return None


# ---- loading ----


@dataclass(frozen=True)
class _Base:
    """The shipped file, parsed: what an override inherits."""

    version: str
    internal: tuple[CatalogEntry, ...]
    keywords: tuple[KeywordRule, ...]
    by_type: dict[str, Catalog]


def load_catalogs(path: Path | None = None, court_override: Path | None = None) -> dict[str, Catalog]:
    """Type code → Catalog, from the base data file and an optional per-court override file."""
    base = _read_base(path or DEFAULT_PATH)
    if court_override is None:
        return dict(base.by_type)
    lists = _merge_override(base, _read_toml(court_override), court_override)
    return _index_by_type(lists, court_override)


def catalog_for(type_code: str, *, court: str | None = None, override_dir: Path | None = None) -> Catalog:
    """The catalog for a case type, the court's own list where it has one."""
    override = None
    if court and override_dir is not None and _COURT_FILE_RE.fullmatch(court):
        candidate = Path(override_dir) / f"{court}.toml"
        override = candidate if candidate.is_file() else None
    catalog = load_catalogs(court_override=override).get(type_code)
    if catalog is None:
        raise AppError(ErrorCode.CATALOG_NOT_FOUND, type_code=type_code)
    return catalog


# The shipped file changes only with a release; override files are re-read on every lookup
# so that an archive office's edit takes effect without a restart.
@lru_cache(maxsize=8)
def _read_base(path: Path) -> _Base:
    data = _read_toml(path)
    version = str(data.get("version", ""))
    internal = _parse_internal(data, path)
    keywords = _parse_keywords(data, path)
    lists = {}
    for raw in _require_list(data, "list", path):
        cat = _parse_list(raw, path, version=version, internal=internal, keywords=keywords)
        lists[cat.list_name] = cat
    return _Base(version, internal, keywords, _index_by_type(lists, path))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise AppError(ErrorCode.CATALOG_INVALID, path=str(path), detail=str(err)) from err


def _bad(path: Path, detail: str) -> AppError:
    return AppError(ErrorCode.CATALOG_INVALID, path=str(path), detail=detail)


def _require_list(data: dict[str, Any], key: str, path: Path) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list) or not value:
        raise _bad(path, f"缺少非空的 {key} 列表")
    return value


def _names(raw: Any, what: str, path: Path) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(n, str) and n.strip() for n in raw):
        raise _bad(path, f"{what} 应为非空的文字列表")
    if len(set(raw)) != len(raw):
        dupes = sorted({n for n in raw if raw.count(n) > 1})
        raise _bad(path, f"{what} 中有重复的目录项：{'、'.join(dupes)}")
    return tuple(raw)


def _entries(names: tuple[str, ...], volume: str) -> tuple[CatalogEntry, ...]:
    return tuple(CatalogEntry(i, n, volume) for i, n in enumerate(names, start=1))


def _parse_internal(data: dict[str, Any], path: Path) -> tuple[CatalogEntry, ...]:
    internal = data.get("internal")
    if not isinstance(internal, dict):
        raise _bad(path, "缺少 [internal]（副卷目录）")
    return _entries(_names(internal.get("entries"), "internal.entries", path), "internal")


def _parse_keywords(data: dict[str, Any], path: Path) -> tuple[KeywordRule, ...]:
    rules = []
    for i, raw in enumerate(data.get("keyword", []), start=1):
        words = _names(raw.get("words"), f"第{i}条 keyword.words", path)
        entries = _names(raw.get("entries"), f"第{i}条 keyword.entries", path)
        rules.append(KeywordRule(words, entries))
    return tuple(rules)


def _parse_list(
    raw: dict[str, Any],
    path: Path,
    *,
    version: str,
    internal: tuple[CatalogEntry, ...],
    keywords: tuple[KeywordRule, ...],
    base: Catalog | None = None,
) -> Catalog:
    """One [[list]]; with `base`, omitted fields are inherited from the list it replaces."""
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise _bad(path, "[[list]] 缺少 name")
    main = _entries(_names(raw.get("main"), f"{name}.main", path), "main")
    if "internal" in raw:
        internal = _entries(_names(raw["internal"], f"{name}.internal", path), "internal")
    elif base is not None:
        internal = base.internal
    if "type_codes" in raw:
        type_codes = _names(raw["type_codes"], f"{name}.type_codes", path)
    elif base is not None:
        type_codes = base.type_codes
    else:
        raise _bad(path, f"{name} 缺少 type_codes")
    fallback = _pick_fallback(raw, main, base, name, path)
    source = str(raw.get("source", base.source if base else ""))
    return Catalog(version, name, type_codes, source, main, internal, fallback, keywords)


def _pick_fallback(raw: dict[str, Any], main: tuple[CatalogEntry, ...], base: Catalog | None, name: str, path: Path) -> str:
    names = [e.name for e in main]
    if "fallback" in raw:
        if raw["fallback"] not in names:
            raise _bad(path, f"{name}.fallback“{raw['fallback']}”不在 main 中")
        return str(raw["fallback"])
    if base is not None and base.fallback in names:
        return base.fallback
    others = [n for n in names if n.startswith("其他")]
    if not others:
        raise _bad(path, f"{name} 缺少 fallback（无法识别的材料归入哪一项）")
    return others[-1]


def _merge_override(base: _Base, data: dict[str, Any], path: Path) -> dict[str, Catalog]:
    """Apply a court's file: replaced/new lists, each taking its type codes from the others."""
    lists = {c.list_name: c for c in base.by_type.values()}
    version = str(data.get("version", f"{base.version}+{Path(path).stem}"))
    for raw in _require_list(data, "list", path):
        if not isinstance(raw, dict):
            raise _bad(path, "[[list]] 格式不正确")
        replaced = lists.get(str(raw.get("name")))
        new = _parse_list(raw, path, version=version, internal=base.internal, keywords=base.keywords, base=replaced)
        lists = {k: _without_codes(c, new.type_codes) for k, c in lists.items()}
        lists[new.list_name] = new
    return {k: c for k, c in lists.items() if c.type_codes}


def _without_codes(cat: Catalog, codes: tuple[str, ...]) -> Catalog:
    kept = tuple(c for c in cat.type_codes if c not in codes)
    return cat if kept == cat.type_codes else replace(cat, type_codes=kept)


def _index_by_type(lists: dict[str, Catalog], path: Path) -> dict[str, Catalog]:
    """Type code → Catalog; a code must be a real 类型代字 and belong to one list only."""
    index: dict[str, Catalog] = {}
    known = case_types()
    for cat in lists.values():
        for code in cat.type_codes:
            if code not in known:
                raise _bad(path, f"{cat.list_name} 中的类型代字“{code}”不在案件类型代字表中")
            if code in index:
                raise _bad(path, f"类型代字“{code}”同时属于 {index[code].list_name} 和 {cat.list_name}")
            index[code] = cat
    return index
