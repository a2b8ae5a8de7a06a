"""Reading kiosk forms into typed values, collecting every field error at once.

A view builds a `Form` over `request.form`, reads each field through it and then asks
`form.ok`; each problem is stored under its field name, so the template marks exactly
that field (`aria-invalid`, message under the label) and the clerk fixes all at once.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from PIL import Image, UnidentifiedImageError

from juanzong.shared.errors import AppError, ErrorCode

_Key = TypeVar("_Key", bound=str)  # a value set's StrEnum, or plain text

MAX_SIGNATURE_BYTES = 512 * 1024


@dataclass
class Form:
    data: Mapping[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def fail(self, name: str, err: AppError | str) -> None:
        self.errors.setdefault(name, err.message if isinstance(err, AppError) else err)

    def text(self, name: str, label: str, *, required: bool = False, max_len: int = 200) -> str:
        value = " ".join(str(self.data.get(name, "")).split())
        if required and not value:
            self.fail(name, AppError(ErrorCode.FIELD_REQUIRED, field=label))
        elif len(value) > max_len:
            self.fail(name, AppError(ErrorCode.FIELD_INVALID, field=label, reason=f"不能超过 {max_len} 个字"))
        return value

    def number(self, name: str, label: str, *, low: int = 1, high: int = 5000, default: int | None = None) -> int:
        raw = str(self.data.get(name, "")).strip().translate(_FULLWIDTH_DIGITS)
        if not raw and default is not None:
            return default
        if not raw:
            self.fail(name, AppError(ErrorCode.FIELD_REQUIRED, field=label))
            return low
        if not raw.isdigit() or not low <= int(raw) <= high:
            self.fail(name, AppError(ErrorCode.FIELD_INVALID, field=label, reason=f"应为 {low} 至 {high} 的整数"))
            return low
        return int(raw)

    def choice(self, name: str, label: str, choices: Mapping[_Key, str], default: str | None = None) -> str:
        value = str(self.data.get(name, "")) or (default or "")
        if value not in choices:
            self.fail(name, AppError(ErrorCode.FIELD_INVALID, field=label, reason="请从列表中选择"))
            return default or next(iter(choices))
        return value

    def flag(self, name: str) -> bool:
        return str(self.data.get(name, "")) in ("1", "on", "yes", "true")

    def pattern(self, name: str, label: str, allowed: str, reason: str, max_len: int = 32) -> str:
        value = "".join(str(self.data.get(name, "")).split()).upper().translate(_FULLWIDTH_DIGITS)
        if value and (len(value) > max_len or any(c not in allowed for c in value)):
            self.fail(name, AppError(ErrorCode.FIELD_INVALID, field=label, reason=reason))
        return value


_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
DIGITS = "0123456789"
ID_CHARS = DIGITS + "X"


@dataclass(frozen=True)
class SignatureInput:
    """A drawn signature (PNG bytes) or a typed name confirmation (no-JS fallback)."""

    method: str  # "drawn" | "typed"
    data: bytes
    signer: str


def signature(form: Form, prefix: str, party: str, expected_name: str) -> SignatureInput | None:
    """`<prefix>-drawn` (data URL from the canvas) or `<prefix>-typed` (must equal the name)."""
    drawn = str(form.data.get(f"{prefix}-drawn", ""))
    typed = " ".join(str(form.data.get(f"{prefix}-typed", "")).split())
    if drawn:
        png = _png_from_data_url(drawn)
        if png is not None:
            return SignatureInput("drawn", png, expected_name)
    if not typed:
        form.fail(f"{prefix}-typed", AppError(ErrorCode.SIGNATURE_REQUIRED, party=party))
        return None
    if expected_name and typed != expected_name:
        form.fail(f"{prefix}-typed", AppError(ErrorCode.SIGNATURE_MISMATCH, party=party, typed=typed, expected=expected_name))
        return None
    return SignatureInput("typed", typed.encode("utf-8"), expected_name)


def _png_from_data_url(text: str) -> bytes | None:
    head = "data:image/png;base64,"
    if not text.startswith(head) or len(text) > MAX_SIGNATURE_BYTES * 4 // 3 + len(head) + 4:
        return None
    try:
        raw = base64.b64decode(text[len(head) :], validate=True)
        with Image.open(io.BytesIO(raw)) as im:
            if im.format != "PNG" or im.width * im.height > 4_000_000:
                return None
            alpha = im.convert("RGBA").getchannel("A")
            grey = im.convert("L")
    except (binascii.Error, UnidentifiedImageError, OSError, ValueError):
        return None
    transparent_somewhere = alpha.histogram()[255] < alpha.width * alpha.height
    inked = alpha.getbbox() is not None if transparent_somewhere else grey.point(lambda v: 255 if v < 128 else 0).getbbox() is not None
    return raw if inked else None
