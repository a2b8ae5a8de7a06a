"""Short readable identifiers with a check character, and our barcode payloads.

An id is one kind letter, eight Crockford base-32 characters (40 random bits)
and one Luhn mod 32 check character, e.g. ``M4K7Q9X2MT``. Crockford's alphabet
leaves out I, L, O and U, so an id read aloud or typed from paper survives the
usual confusions (``O``→``0``, ``I``/``L``→``1`` are folded on input). The
Luhn mod N check catches every single-character error and every transposition
of neighbours, which is what a clerk's typing produces.

Everything we print as a barcode is ``JZ1-<id>``: namespace ``JZ``, format
version ``1``, then the id with its kind and check. Evidence pages carry
foreign barcodes (waybills, invoice QR codes); a decoded text is ours only if
prefix, version, kind and check all match, so `parse_payload` returns None for
anything else.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from juanzong.shared.errors import AppError, ErrorCode

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_INDEX = {c: i for i, c in enumerate(ALPHABET)}
_FOLD = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = set("-‐‑‒–—―−_.·・")
BODY_LEN = 8
PAYLOAD_PREFIX = "JZ"
PAYLOAD_VERSION = "1"


class Kind(StrEnum):
    INTAKE = "T"
    ITEM = "M"
    PAGE = "P"
    BATCH = "B"
    APPLIANCE = "A"
    QUARANTINE = "Q"
    PRINT_JOB = "J"
    MEDIUM = "D"  # a registered removable disk (air-gapped carry)
    CUSTODY = "C"  # a custody register event (submit / transfer / borrow / return)
    SIGNATURE = "S"
    PICKUP = "V"  # served documents waiting to be collected (deliVery)
    DOCUMENT = "F"  # an assembled PDF (file) of one item
    NOTICE = "N"  # a filing notice (入卷提醒)
    API_CLIENT = "K"  # a system reading central's API with a token (the case system)


def luhn_check_char(text: str) -> str:
    """Luhn mod 32 check character over Crockford characters."""
    factor, total, n = 2, 0, len(ALPHABET)
    for ch in reversed(text):
        addend = factor * _INDEX[ch]
        factor = 1 if factor == 2 else 2
        total += addend // n + addend % n
    return ALPHABET[(n - total % n) % n]


def new_id(kind: Kind) -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LEN))
    return kind.value + body + luhn_check_char(kind.value + body)


def normalise_id(text: str) -> str:
    """Any grouping a person types or copies: spaces, hyphens and dashes of any width
    (an input method's full-width ones too) are dropped, O/I/L folded."""
    folded = unicodedata.normalize("NFKC", text).upper()
    return "".join(c for c in folded if not (c.isspace() or c in _SEPARATORS)).translate(_FOLD)


def is_valid_id(text: str, kind: Kind | None = None) -> bool:
    ident = normalise_id(text)
    if len(ident) != BODY_LEN + 2 or any(c not in _INDEX for c in ident):
        return False
    if ident[0] not in {k.value for k in Kind} or (kind is not None and ident[0] != kind.value):
        return False
    return luhn_check_char(ident[:-1]) == ident[-1]


def require_id(text: str, kind: Kind | None = None) -> str:
    """Normalised id, or AppError(ID_INVALID) for a mistyped or foreign one."""
    if not is_valid_id(text, kind):
        raise AppError(ErrorCode.ID_INVALID, text=text)
    return normalise_id(text)


def format_id(ident: str) -> str:
    """Grouped for people: ``M-4K7Q-9X2M-T``."""
    return f"{ident[0]}-{ident[1:5]}-{ident[5:9]}-{ident[9]}"


@dataclass(frozen=True)
class OurCode:
    """A barcode payload that is ours."""

    kind: Kind
    ident: str

    @property
    def is_cover_sheet(self) -> bool:
        return self.kind is Kind.ITEM

    @property
    def is_page_stamp(self) -> bool:
        return self.kind is Kind.PAGE


def make_payload(ident: str) -> str:
    return f"{PAYLOAD_PREFIX}{PAYLOAD_VERSION}-{require_id(ident)}"


def parse_payload(text: str) -> OurCode | None:
    """Our code, or None: a foreign barcode or a misread is never an error."""
    head = f"{PAYLOAD_PREFIX}{PAYLOAD_VERSION}-"
    if not isinstance(text, str) or not text.startswith(head):
        return None
    ident = text[len(head) :]
    # exact match only: a payload we print is already normalised
    if not is_valid_id(ident) or normalise_id(ident) != ident:
        return None
    return OurCode(Kind(ident[0]), ident)


# --- page stamps ---------------------------------------------------------------------------
# The stamp on every page of an assembled PDF says which item and which page it is
# without a database: ``JZ1-<item id>-<page no, 4 digits><check>``, e.g.
# ``JZ1-M4K7Q9X2MT-0003K``. The check character (Luhn mod 32 over item id and
# digits) covers the page number too, so a misread digit is never a wrong page.
# `parse_payload` returns None for it: a stamped page fed back to the scanner is
# not a cover sheet.

PAGE_NO_DIGITS = 4


@dataclass(frozen=True)
class PageStamp:
    item_id: str
    page_no: int


def make_page_stamp(item_id: str, page_no: int) -> str:
    ident = require_id(item_id, Kind.ITEM)
    if not 1 <= page_no < 10**PAGE_NO_DIGITS:
        raise ValueError(f"page number out of range: {page_no}")
    body = f"{ident}{page_no:0{PAGE_NO_DIGITS}d}"
    return f"{PAYLOAD_PREFIX}{PAYLOAD_VERSION}-{ident}-{page_no:0{PAGE_NO_DIGITS}d}{luhn_check_char(body)}"


def parse_page_stamp(text: str) -> PageStamp | None:
    """Item and page number from a stamp payload, or None for anything else."""
    head = f"{PAYLOAD_PREFIX}{PAYLOAD_VERSION}-"
    if not isinstance(text, str) or not text.startswith(head):
        return None
    parts = text[len(head) :].split("-")
    if len(parts) != 2 or len(parts[1]) != PAGE_NO_DIGITS + 1 or not parts[1][:-1].isdigit():
        return None
    ident, digits, check = parts[0], parts[1][:-1], parts[1][-1]
    if not is_valid_id(ident, Kind.ITEM) or normalise_id(ident) != ident:
        return None
    if luhn_check_char(ident + digits) != check or int(digits) < 1:
        return None
    return PageStamp(ident, int(digits))
