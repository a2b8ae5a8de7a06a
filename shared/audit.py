"""Append-only, hash-chained audit records (who / what / when / where / outcome).

Each record's hash covers its canonical JSON and the previous record's hash,
so deleting, editing or reordering any record breaks every later link. The
appliance's current chain head travels in each batch manifest; central keeps
every head it saw and can check that a later chain extends the earlier one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterable

from juanzong.shared.crypto import sha256_hex
from juanzong.shared.manifest import canonical_json

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    at: str
    actor: str
    action: str  # login, intake, print, scan, quarantine, qc_override, export, sync, purge, key_use …
    target: str
    outcome: str  # ok | refused | failed
    detail: dict[str, Any]
    where: str  # appliance or server id
    prev_hash: str

    def digest(self) -> str:
        return sha256_hex(self.prev_hash.encode("ascii") + canonical_json(asdict(self)))


def first_break(records: Iterable[AuditRecord]) -> int | None:
    """Seq of the first record that does not chain onto its predecessor, or None."""
    prev, expected_seq = GENESIS, None
    for rec in records:
        if rec.prev_hash != prev or (expected_seq is not None and rec.seq != expected_seq):
            return rec.seq
        prev, expected_seq = rec.digest(), rec.seq + 1
    return None


@dataclass(frozen=True)
class ChainBreak:
    """The first bad row of a chain: `missing` (a gap in the numbering), `relinked` (its link to the
    previous row is wrong), `edited` (its content no longer hashes to its stored hash); with a
    witness: `truncated` (a witnessed row is gone), `rechained` (a witnessed row has another hash)."""

    seq: int
    reason: str
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "reason": self.reason, "source": self.source}


def first_bad_row(rows: Iterable[tuple[AuditRecord, str]]) -> tuple[ChainBreak | None, dict[int, str]]:
    """Walk (record, stored hash) in seq order; the first break and {seq: stored hash} of the rows before it."""
    prev, expected, hashes = GENESIS, 1, {}
    for rec, stored in rows:
        if rec.seq != expected:
            return ChainBreak(expected, "missing"), hashes
        if rec.prev_hash != prev:
            return ChainBreak(rec.seq, "relinked"), hashes
        if rec.digest() != stored:
            return ChainBreak(rec.seq, "edited"), hashes
        hashes[rec.seq] = stored
        prev, expected = stored, expected + 1
    return None, hashes
