"""The integrity check: every stored byte still is what was received and still opens.

Two passes. Blobs: re-hash each file against its name (content addressing
makes bit rot visible). Pages: each page ends in exactly one outcome —
`missing_blob`, `hash_mismatch` (ciphertext ≠ its name, or plaintext ≠ the
manifest's `source_sha256`), `decrypt_failed`, or `ok` — so the counts add up
to the number of pages.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from juanzong.central import audit
from juanzong.central.home import Central
from juanzong.central.pages import decrypt_page
from juanzong.central.repository import PageRef
from juanzong.shared import crypto
from juanzong.shared.errors import AppError

OUTCOMES = ("decrypted_ok", "hash_mismatch", "decrypt_failed", "missing_blobs")


@dataclass(frozen=True)
class Failure:
    kind: str  # "blob" or "page"
    ident: str
    outcome: str


@dataclass(frozen=True)
class VerifyResult:
    pages: int
    counts: dict[str, int]
    blobs: int
    blobs_corrupt: int
    failures: tuple[Failure, ...]

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
            "failures": [f.__dict__ for f in self.failures],
        }


def verify_store(central: Central) -> VerifyResult:
    failures: list[Failure] = []
    blobs = 0
    for name in central.store.names():
        blobs += 1
        if crypto.sha256_hex(central.store.get(name)) != name:
            failures.append(Failure("blob", name, "hash_mismatch"))
    blobs_corrupt = len(failures)
    counts: Counter[str] = Counter()
    for ref in central.repo.page_refs():
        outcome = check_page(central, ref)
        counts[outcome] += 1
        if outcome != "decrypted_ok":
            failures.append(Failure("page", ref.page_id, outcome))
    broken = audit.verify_chain(central.repo.engine)
    if broken is not None:
        failures.append(Failure("audit", str(broken), "chain_broken"))
    audit.record(central.repo.engine, actor="archive office", action="verify", target="store", key_use="hpke",
                 pages=sum(counts.values()), failures=len(failures))
    return VerifyResult(sum(counts.values()), dict(counts), blobs, blobs_corrupt, tuple(failures))


def check_page(central: Central, ref: PageRef) -> str:
    try:
        data = central.store.get(ref.blob_sha256)
    except KeyError:
        return "missing_blobs"
    if crypto.sha256_hex(data) != ref.blob_sha256:
        return "hash_mismatch"
    try:
        plain = decrypt_page(central, ref, data)
    except AppError:
        return "decrypt_failed"
    return "decrypted_ok" if crypto.sha256_hex(plain) == ref.source_sha256 else "hash_mismatch"


def render_text(result: VerifyResult) -> str:
    d = result.to_dict()
    lines = [
        f"页面 {d['pages']} 页：解密校验通过 {d['decrypted_ok']}，哈希不符 {d['hash_mismatch']}，"
        f"解密失败 {d['decrypt_failed']}，数据块缺失 {d['missing_blobs']}",
        f"数据块 {d['blobs']} 个，内容与名称不符 {d['blobs_corrupt']} 个",
    ]
    lines.extend(f"  {'数据块' if f.kind == 'blob' else '页面'} {f.ident}：{f.outcome}" for f in result.failures)
    lines.append("完整性检查通过" if result.ok else "完整性检查未通过")
    return "\n".join(lines)
