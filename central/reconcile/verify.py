"""The integrity check: every stored byte still is what was received and still opens.

One pass over the store and the page table together, both in hash order, so
every object is read once (a province store is too big to read twice). Each
object is re-hashed against its name (content addressing makes bit rot
visible); each page ends in exactly one outcome —
`missing_blob`, `hash_mismatch` (ciphertext ≠ its name, or plaintext ≠ the
manifest's `source_sha256`), `decrypt_failed`, or `ok` — so the counts add up
to the number of pages.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import groupby
from typing import Any

from juanzong.central import audit
from juanzong.central.home import Central
from juanzong.central.pages import decrypt_page
from juanzong.central.repository import PageRef
from juanzong.shared import crypto
from juanzong.shared.audit import Action, BreakReason
from juanzong.shared.errors import AppError


class PageOutcome(StrEnum):
    """Exactly one per page."""

    DECRYPTED_OK = "decrypted_ok"
    HASH_MISMATCH = "hash_mismatch"  # the stored ciphertext, or the opened page, is not what was received
    DECRYPT_FAILED = "decrypt_failed"
    MISSING_BLOBS = "missing_blobs"


OUTCOMES = tuple(PageOutcome)


class FailureKind(StrEnum):
    BLOB = "blob"
    PAGE = "page"
    AUDIT = "audit"  # ident: the first bad row
    CHECKPOINT = "checkpoint"  # ident: the line of the checkpoint file


class CheckpointOutcome(StrEnum):
    SIGNATURE_INVALID = "signature_invalid"  # a signed checkpoint line central's key does not verify


@dataclass(frozen=True)
class Failure:
    kind: FailureKind
    ident: str
    outcome: str
    source: str = ""  # for audit: the witness that showed it


@dataclass(frozen=True)
class VerifyResult:
    pages: int
    counts: dict[str, int]
    blobs: int
    blobs_corrupt: int
    failures: tuple[Failure, ...]
    orphans: tuple[str, ...] = ()  # stored, named by no page (not a failure: see central/orphans.py)

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {
            "pages": self.pages,
            **{k: self.counts.get(k, 0) for k in OUTCOMES},
            "blobs": self.blobs,
            "blobs_corrupt": self.blobs_corrupt,
            "ok": self.ok,
            "failures": [{k: v for k, v in f.__dict__.items() if v or k != "source"} for f in self.failures],
            "orphans": list(self.orphans),
        }


def verify_store(central: Central) -> VerifyResult:
    """Walk the store and the page table side by side, both in hash order: each
    object is read exactly once, whatever the number of pages that share it."""
    tally = _Tally()
    for name, refs in _merge(central.store.names(), central.repo.page_refs_by_blob()):
        if name is None:  # rows whose blob was never stored or has gone
            tally.pages(refs, PageOutcome.MISSING_BLOBS)
        elif not refs:  # stored, not (yet) named by any manifest: still must hash to its name
            _check_unnamed(central, name, tally)
        else:
            _check_shared(central, name, refs, tally)
    witnessed, bad_lines = audit.witnesses(central)
    broken = audit.verify_chain(central.repo.engine, witnessed)
    if broken is not None:
        tally.failures.append(Failure(FailureKind.AUDIT, str(broken.seq), broken.reason, broken.source))
    tally.failures.extend(Failure(FailureKind.CHECKPOINT, str(n), CheckpointOutcome.SIGNATURE_INVALID) for n in bad_lines)
    pages = sum(tally.counts.values())
    audit.record(
        central.repo.engine,
        actor="archive office",
        action=Action.VERIFY,
        target="store",
        key_use="hpke",
        pages=pages,
        failures=len(tally.failures),
    )
    if broken is None:
        audit.checkpoint(central)  # a verified head is witnessed outside the database
    return VerifyResult(pages, dict(tally.counts), tally.blobs, tally.blobs_corrupt, tuple(tally.failures), tuple(tally.orphans))


@dataclass
class _Tally:
    counts: Counter[str] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    blobs: int = 0
    blobs_corrupt: int = 0
    orphans: list[str] = field(default_factory=list)

    def blob(self, name: str, intact: bool) -> None:
        self.blobs += 1
        if not intact:
            self.blobs_corrupt += 1
            self.failures.append(Failure(FailureKind.BLOB, name, PageOutcome.HASH_MISMATCH))

    def page(self, ref: PageRef, outcome: PageOutcome) -> None:
        self.counts[outcome] += 1
        if outcome != PageOutcome.DECRYPTED_OK:
            self.failures.append(Failure(FailureKind.PAGE, ref.page_id, outcome))

    def pages(self, refs: list[PageRef], outcome: PageOutcome) -> None:
        for ref in refs:
            self.page(ref, outcome)


def _check_unnamed(central: Central, name: str, tally: _Tally) -> None:
    try:
        tally.blob(name, _hash_of(central.store.read(name)) == name)
    except KeyError:
        return  # listed, then removed before it was read (a cleanup running beside verify)
    tally.orphans.append(name)


def _check_shared(central: Central, name: str, refs: list[PageRef], tally: _Tally) -> None:
    try:
        data = b"".join(central.store.read(name))  # the one read of this object
    except KeyError:  # listed, then gone before it was read
        tally.pages(refs, PageOutcome.MISSING_BLOBS)
        return
    intact = crypto.sha256_hex(data) == name
    tally.blob(name, intact)
    for ref in refs:
        tally.page(ref, page_outcome(central, ref, data) if intact else PageOutcome.HASH_MISMATCH)


def _merge(names: Iterator[str], refs: Iterator[PageRef]) -> Iterator[tuple[str | None, list[PageRef]]]:
    """(stored name or None, the page rows naming it) for every name on either side, in hash order."""
    groups = ((sha, list(rows)) for sha, rows in groupby(_ascending(refs, lambda r: r.blob_sha256), key=lambda r: r.blob_sha256))
    names = _ascending(names, lambda n: n)
    name, group = next(names, None), next(groups, None)
    while name is not None or group is not None:
        if group is None or (name is not None and name < group[0]):
            yield name, []
            name = next(names, None)
        elif name is None or group[0] < name:
            yield None, group[1]
            group = next(groups, None)
        else:
            yield name, group[1]
            name, group = next(names, None), next(groups, None)


def _ascending(items: Iterator[Any], key: Callable[[Any], str]) -> Iterator[Any]:
    """The items, refusing to go on if they are not in ascending order (a merge must never guess)."""
    last = ""
    for item in items:
        if key(item) < last:
            raise RuntimeError(f"not in hash order: {key(item)} after {last}")
        last = key(item)
        yield item


def _hash_of(chunks: Iterator[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def page_outcome(central: Central, ref: PageRef, data: bytes) -> PageOutcome:
    """A page whose ciphertext is intact: does it open, and to the scanned bytes?"""
    try:
        plain = decrypt_page(central, ref, data)
    except AppError:
        return PageOutcome.DECRYPT_FAILED
    ok = crypto.sha256_hex(plain) == ref.source_sha256
    return PageOutcome.DECRYPTED_OK if ok else PageOutcome.HASH_MISMATCH


def render_text(result: VerifyResult) -> str:
    d = result.to_dict()
    lines = [
        f"页面 {d['pages']} 页：解密校验通过 {d['decrypted_ok']}，哈希不符 {d['hash_mismatch']}，"
        f"解密失败 {d['decrypt_failed']}，数据块缺失 {d['missing_blobs']}",
        f"数据块 {d['blobs']} 个，内容与名称不符 {d['blobs_corrupt']} 个",
    ]
    lines.extend(_failure_text(f) for f in result.failures)
    if result.orphans:
        lines.append(
            f"未被任何批次清单引用的数据块 {len(result.orphans)} 个（上传后清单未到或被拒收；"
            "超过保留期后可用 central orphans --remove 删除）："
        )
        lines.extend(f"  {name}" for name in result.orphans[:20])
    lines.append("完整性检查通过" if result.ok else "完整性检查未通过")
    return "\n".join(lines)


_KIND_TEXT = {
    FailureKind.BLOB: "数据块",
    FailureKind.PAGE: "页面",
    FailureKind.AUDIT: "审计记录 第",
    FailureKind.CHECKPOINT: "审计检查点文件 第",
}
_AUDIT_TEXT: dict[str, str] = {
    BreakReason.MISSING: "缺失（编号不连续）",
    BreakReason.RELINKED: "链接被改动",
    BreakReason.EDITED: "内容被改动",
    BreakReason.TRUNCATED: "已被删除（日志被截断）",
    BreakReason.RECHAINED: "与见证的链头不符（日志被改写后重算）",
    CheckpointOutcome.SIGNATURE_INVALID: "签名无效",
}


def _failure_text(f: Failure) -> str:
    suffix = "行" if f.kind == FailureKind.CHECKPOINT else ("条" if f.kind == FailureKind.AUDIT else "")
    reason = _AUDIT_TEXT.get(f.outcome, f.outcome)
    source = f"（见证：{f.source}）" if f.source else ""
    return f"  {_KIND_TEXT[f.kind]} {f.ident}{suffix}：{reason}{source}"
