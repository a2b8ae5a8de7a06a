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
    kind: str  # "blob", "page", "audit" (ident = first bad row), "checkpoint" (ident = line number)
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
    witnessed, bad_lines = audit.witnesses(central)
    broken = audit.verify_chain(central.repo.engine, witnessed)
    if broken is not None:
        failures.append(Failure("audit", str(broken.seq), broken.reason, broken.source))
    failures.extend(Failure("checkpoint", str(n), "signature_invalid") for n in bad_lines)
    audit.record(central.repo.engine, actor="archive office", action="verify", target="store", key_use="hpke",
                 pages=sum(counts.values()), failures=len(failures))
    if broken is None:
        audit.checkpoint(central)  # a verified head is witnessed outside the database
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
    lines.extend(_failure_text(f) for f in result.failures)
    lines.append("完整性检查通过" if result.ok else "完整性检查未通过")
    return "\n".join(lines)


_KIND_TEXT = {"blob": "数据块", "page": "页面", "audit": "审计记录 第", "checkpoint": "审计检查点文件 第"}
_AUDIT_TEXT = {"missing": "缺失（编号不连续）", "relinked": "链接被改动", "edited": "内容被改动",
               "truncated": "已被删除（日志被截断）", "rechained": "与见证的链头不符（日志被改写后重算）",
               "signature_invalid": "签名无效"}


def _failure_text(f: Failure) -> str:
    suffix = "行" if f.kind == "checkpoint" else ("条" if f.kind == "audit" else "")
    reason = _AUDIT_TEXT.get(f.outcome, f.outcome)
    source = f"（见证：{f.source}）" if f.source else ""
    return f"  {_KIND_TEXT[f.kind]} {f.ident}{suffix}：{reason}{source}"
