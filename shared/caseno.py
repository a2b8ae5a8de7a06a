"""Case numbers (案号): parse what a clerk typed or a barcode carried, normalise, explain.

A case number since 2016-01-01 (法〔2015〕137号, amended 2018) reads
``（收案年度）法院代字[专门审判代字]类型代字案件编号号[之一]``, e.g. （2024）京0102民初1234号
or （2019）最高法知民终1号. Before 2016 courts wrote a free-form abbreviation and ``字第``:
（2014）海民初字第123号. Both are accepted; the old form carries a warning and keeps its
free-form court, because no table maps it back to a court code.

The tables (类型代字 with meaning and 大类, province characters, known court names) are data
files in ``shared/data``; this module only knows the shape. Anything that cannot be read is
refused with an AppError whose Chinese message says what was expected.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, NoReturn

from juanzong.shared.errors import AppError, ErrorCode

DATA_DIR = Path(__file__).with_name("data")
SUPREME = "最高法"
LEGACY_MARK = "字第"
MODERN_SINCE = 2016  # 法〔2015〕137号 in force 2016-01-01
YEAR_MIN, YEAR_MAX = 1949, 2100
SEQ_MAX_DIGITS = 8  # 刑核 uses 8-digit random numbers; nothing is longer
COURT_DIGITS_LEVEL = {0: "high", 2: "intermediate", 4: "basic"}

# Brackets people type around the year; the rule text uses full-width （）.
_OPEN, _CLOSE = "（(〔[【［﹙〖", "）)〕]】］﹚〗"
_TRANSLATE = str.maketrans({**{c: "（" for c in _OPEN}, **{c: "）" for c in _CLOSE}, **{chr(0xFF10 + i): str(i) for i in range(10)}})
# Not white space to str.split() but invisible in a pasted number.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_YEAR_RE = re.compile(r"（([^（）]*)）(.*)")
_NUMBER_RE = re.compile(r"(?P<core>.*?)(?P<num>[0-9]+)号(?P<rest>.*)")
_SUFFIX_RE = re.compile(r"之[一二三四五六七八九十百]+")


@dataclass(frozen=True)
class CaseType:
    code: str
    name: str
    category: str
    category_code: str
    source: str
    seq_digits: int | None = None
    warning: str | None = None


@dataclass(frozen=True)
class CaseNumber:
    year: int
    court: str
    court_level: str  # "supreme" | "high" | "intermediate" | "basic" | "unknown" (legacy)
    province: str | None
    special: str | None
    type_code: str
    type_name: str
    category: str
    seq: int
    suffix: str | None
    legacy: bool
    # Warnings describe the input, not the case: a re-typed number is the same case.
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def canonical(self) -> str:
        width = case_types()[self.type_code].seq_digits or 0
        number = f"{self.seq:0{width}d}"
        if self.legacy:
            return f"（{self.year}）{self.court}{self.type_code}{LEGACY_MARK}{number}号{self.suffix or ''}"
        return f"（{self.year}）{self.court}{self.special or ''}{self.type_code}{number}号{self.suffix or ''}"

    @property
    def court_name(self) -> str | None:
        """Name from the known-courts table; None when the code is valid but not listed."""
        return None if self.legacy else court_names().get(self.court)

    def to_dict(self) -> dict[str, Any]:
        return {
            "canonical": self.canonical,
            "year": self.year,
            "court": self.court,
            "court_name": self.court_name,
            "court_level": self.court_level,
            "province": self.province,
            "special": self.special,
            "type_code": self.type_code,
            "type_name": self.type_name,
            "category": self.category,
            "seq": self.seq,
            "suffix": self.suffix,
            "legacy": self.legacy,
            "warnings": list(self.warnings),
        }


# ---- tables (data files, read once) ----


@lru_cache(maxsize=1)
def case_types() -> dict[str, CaseType]:
    data = tomllib.loads((DATA_DIR / "case_types.toml").read_text(encoding="utf-8"))
    table: dict[str, CaseType] = {}
    for cat in data["category"]:
        for t in cat["types"]:
            source = f"[{t['src']}]" if "src" in t else cat["source"]
            table[t["code"]] = CaseType(t["code"], t["name"], cat["name"], cat["code"], source, t.get("seq_digits"), t.get("warning"))
    return table


@lru_cache(maxsize=1)
def special_codes() -> dict[str, int]:
    """专门审判代字 → the first year it can appear."""
    data = tomllib.loads((DATA_DIR / "case_types.toml").read_text(encoding="utf-8"))
    return {s["code"]: s["since"] for s in data.get("special", [])}


@lru_cache(maxsize=1)
def _courts_data() -> dict[str, Any]:
    return tomllib.loads((DATA_DIR / "courts.toml").read_text(encoding="utf-8"))


def province_codes() -> frozenset[str]:
    return frozenset(p["code"] for p in _courts_data()["provinces"])


@lru_cache(maxsize=1)
def court_names() -> dict[str, str]:
    data = _courts_data()
    names = {data["supreme"]["code"]: data["supreme"]["name"]}
    names.update({p["code"]: p["court"] for p in data["provinces"]})
    names.update({c["code"]: c["name"] for c in data["courts"]})
    return names


# ---- parsing ----


def normalise_text(text: str) -> str:
    """Brackets → （）, full-width digits → ASCII, every kind of white space removed."""
    return "".join(text.translate(_INVISIBLE).translate(_TRANSLATE).split())


def parse_case_number(text: str) -> CaseNumber:
    """Parse and normalise a case number; AppError with a specific Chinese reason otherwise."""
    norm = normalise_text(text)
    if not norm:
        raise _invalid(text, "案号为空")
    year, body = _split_year(text, norm)
    core, num, suffix = _split_number(text, body)
    if core.endswith(LEGACY_MARK):
        return _parse_legacy(text, year, core[: -len(LEGACY_MARK)], num, suffix)
    return _parse_modern(text, year, core, num, suffix)


def _invalid(text: str, reason: str) -> AppError:
    return AppError(ErrorCode.CASE_NUMBER_INVALID, text=text, reason=reason)


def _split_year(text: str, norm: str) -> tuple[int, str]:
    m = _YEAR_RE.fullmatch(norm)
    if m is None:
        if re.match(r"[0-9]{4}", norm):
            raise _invalid(text, "收案年度缺少括号，应写作（2024）")
        if norm.startswith("（"):
            raise _invalid(text, "收案年度的括号不完整")
        raise _invalid(text, "案号应以括号括起的收案年度开头")
    year_text, body = m.groups()
    if not re.fullmatch(r"[0-9]{4}", year_text):
        raise _invalid(text, f"收案年度“{year_text}”应为4位阿拉伯数字")
    year = int(year_text)
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise _invalid(text, f"收案年度{year}不在{YEAR_MIN}年至{YEAR_MAX}年之间")
    return year, body


def _split_number(text: str, body: str) -> tuple[str, str, str | None]:
    m = _NUMBER_RE.fullmatch(body)
    if m is None:
        if "号" not in body:
            raise _invalid(text, "缺少“号”字，案件编号后应以“号”结尾")
        raise _invalid(text, "“号”字前缺少案件编号")
    core, num, rest = m.group("core", "num", "rest")
    if rest and not _SUFFIX_RE.fullmatch(rest):
        raise _invalid(text, f"“号”字后的“{rest}”无法识别，只能是“之一”“之二”等")
    if not core:
        raise _invalid(text, "缺少法院代字和类型代字")
    if core.endswith("第") and not core.endswith(LEGACY_MARK):
        raise _invalid(text, "2016年起的案号在案件编号前不写“第”字（旧式案号为“字第”）")
    if len(num) > SEQ_MAX_DIGITS:
        raise _invalid(text, f"案件编号“{num}”超过{SEQ_MAX_DIGITS}位")
    if int(num) == 0:
        raise _invalid(text, "案件编号不能为0")
    return core, num, rest or None


def _parse_modern(text: str, year: int, core: str, num: str, suffix: str | None) -> CaseNumber:
    court, level, province, rest = _split_court(text, core)
    special, ctype = _split_type(text, rest)
    warnings = _seq_warnings(num, ctype) + _year_warnings(year, special)
    return CaseNumber(
        year, court, level, province, special, ctype.code, ctype.name, ctype.category,
        int(num), suffix, False, tuple(warnings),
    )  # fmt: skip


def _split_court(text: str, core: str) -> tuple[str, str, str | None, str]:
    """(court code, level, province, the rest: 专门审判代字 + 类型代字)."""
    if core.startswith(SUPREME):
        digits = _leading(r"[0-9]*", core[len(SUPREME) :])
        if digits:
            _refuse_court(text, SUPREME + digits, "（最高法后不带数字）")
        return SUPREME, "supreme", None, core[len(SUPREME) :]
    m = re.fullmatch(r"(\D)([0-9]*)(.*)", core)
    if m is None or m.group(1) not in province_codes():
        _refuse_unknown_head(text, core)
    head, digits, rest = m.groups()
    if re.search(r"[0-9]", rest):
        raise _invalid(text, f"法院代字“{head}{digits}”之后的“{rest}”中不应有数字")
    if len(digits) not in COURT_DIGITS_LEVEL:
        _refuse_court(text, head + digits, f"（省级简称后应为2位或4位数字，现为{len(digits)}位）")
    return head + digits, COURT_DIGITS_LEVEL[len(digits)], head, rest


def _leading(pattern: str, text: str) -> str:
    """The run of `pattern` at the start of `text` ("" when there is none)."""
    m = re.match(pattern, text)
    return m.group() if m else ""


def _refuse_unknown_head(text: str, core: str) -> NoReturn:
    letters = re.sub(r"[0-9]", "", core)
    if _type_or_none(letters) is not None or core[0].isdigit():
        raise _invalid(text, "缺少法院代字（收案年度之后、类型代字之前，如京0102、粤07、最高法）")
    run = _leading(r"\D+", core)
    ctype = longest_type_suffix(run)
    court = run[: len(run) - len(ctype.code)] if ctype and len(ctype.code) < len(run) else run[0]
    court += _leading(r"[0-9]*", core[len(court) :])
    hint = _courts_data()["wrong_codes"].get(court[0])
    _refuse_court(text, court, f"（{hint}）" if hint else "")


def _refuse_court(text: str, court: str, hint: str) -> NoReturn:
    raise AppError(ErrorCode.CASE_NUMBER_UNKNOWN_COURT, text=text, court=court, hint=hint)


def _split_type(text: str, rest: str) -> tuple[str | None, CaseType]:
    """The whole run is the type code, so a longer code (民特监) is never cut short (民特)."""
    if not rest:
        raise _invalid(text, "缺少类型代字（如民初、刑初、执）")
    ctype = _type_or_none(rest)
    if ctype is not None:
        return None, ctype
    special, tail = rest[0], rest[1:]
    if special in special_codes() and tail and (ctype := _type_or_none(tail)) is not None:
        return special, ctype
    raise AppError(ErrorCode.CASE_NUMBER_UNKNOWN_TYPE, text=text, type_code=rest)


def _type_or_none(code: str) -> CaseType | None:
    return case_types().get(code)


def longest_type_suffix(run: str) -> CaseType | None:
    """The longest type code that ends `run` (海民特监 → 民特监, not 民特; 京执恢 → 执恢)."""
    for start in range(len(run)):
        if (ctype := _type_or_none(run[start:])) is not None:
            return ctype
    return None


def _parse_legacy(text: str, year: int, run: str, num: str, suffix: str | None) -> CaseNumber:
    """Pre-2016 （2014）海民初字第123号: free-form court abbreviation, kept as written."""
    ctype = longest_type_suffix(run)
    if ctype is None:
        raise AppError(ErrorCode.CASE_NUMBER_UNKNOWN_TYPE, text=text, type_code=run)
    court = run[: len(run) - len(ctype.code)]
    warnings = [
        f"这是2016年以前的旧式案号（含“字第”），法院简称“{court}”按原样保留，无法对应法院代字，请核对"
        if court
        else "这是2016年以前的旧式案号（含“字第”），其中没有法院简称，请核对收案法院"
    ]
    if year >= MODERN_SINCE:
        warnings.append(f"{MODERN_SINCE}年1月1日起案号不再使用“字第”，收案年度{year}的案号应为新格式")
    warnings += _seq_warnings(num, ctype)
    return CaseNumber(
        year, court, "unknown", None, None, ctype.code, ctype.name, ctype.category,
        int(num), suffix, True, tuple(warnings),
    )  # fmt: skip


def _seq_warnings(num: str, ctype: CaseType) -> list[str]:
    warnings = [ctype.warning] if ctype.warning else []
    if ctype.seq_digits:
        if len(num) != ctype.seq_digits:
            warnings.append(f"类型“{ctype.code}”的案件编号应为{ctype.seq_digits}位，现为{len(num)}位，请核对")
    elif num.startswith("0"):
        warnings.append(f"案件编号“{num}”含前导零，已规范为“{int(num)}”（案件编号不补零）")
    return warnings


def _year_warnings(year: int, special: str | None) -> list[str]:
    warnings = []
    if year < MODERN_SINCE:
        warnings.append(f"新格式案号自{MODERN_SINCE}年1月1日起使用，收案年度{year}早于此，请核对")
    if special is not None and year < special_codes()[special]:
        since = special_codes()[special]
        warnings.append(f"专门审判代字“{special}”自{since}年起使用，收案年度{year}早于此，请核对")
    return warnings
