"""Append-only, hash-chained audit records (who / what / when / where / outcome).

Each record's hash covers its canonical JSON and the previous record's hash,
so deleting, editing or reordering any record breaks every later link. The
appliance's current chain head travels in each batch manifest; central keeps
every head it saw and can check that a later chain extends the earlier one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from juanzong.shared.crypto import sha256_hex
from juanzong.shared.manifest import canonical_json

GENESIS = "0" * 64


class Action(StrEnum):
    """Every audited operation, on both sides (the `action` of a record)."""

    ACCESS = "access"
    ACTIVE_ITEM = "active_item"
    BACKUP = "backup"
    BLOB = "blob"
    CALENDAR_IMPORT = "calendar_import"
    CASE_LINK = "case_link"
    CERTIFICATE = "certificate"
    CLOSE_ITEM = "close_item"
    CONFIG_SET = "config_set"  # edge config set: a setting changed, old and new value
    CONNECT = "connect"
    CUSTODY = "custody"
    DEADLINE_RECOMPUTE = "deadline_recompute"
    DOCUMENT = "document"
    ENROLL = "enroll"
    ENROLL_RENEW = "enroll_renew"
    EXCEPTION_ACTION = "exception_action"
    EXPORT = "export"
    FOUR_PROPERTY_CHECK = "four_property_check"
    INTAKE = "intake"
    INTEGRITY_CHECK = "integrity_check"
    KEY_GENERATE = "key_generate"
    KEY_RENEW_REQUEST = "key_renew_request"
    KEY_ROTATE = "key_rotate"
    LOCKDOWN_APPLY = "lockdown_apply"
    LOGIN = "login"
    LOGIN_LOCKED = "login_locked"
    LOGOUT = "logout"
    MEDIA_EXPORT = "media_export"
    MEDIA_IMPORT = "media_import"
    MEDIA_INIT = "media_init"
    MEDIA_RECEIPTS = "media_receipts"
    MEDIA_REGISTER = "media_register"
    MEDIA_RULES = "media_rules"  # the appliance's udev rules for registered media rewritten
    NOTICE = "notice"
    OPERATOR_ADD = "operator_add"
    OPERATOR_DISABLE = "operator_disable"
    ORPHAN_REMOVE = "orphan_remove"
    PAGE_VIEW = "page_view"
    PICKUP_HANDOVER = "pickup_handover"
    PICKUP_REGISTER = "pickup_register"
    PRINT = "print"
    PRINT_QUEUE = "print_queue"
    PURGE = "purge"
    PURGE_REPORTED = "purge_reported"
    QC_APPROVE = "qc_approve"
    QC_ASSIGN = "qc_assign"
    QC_CHECK = "qc_check"
    QC_DISCARD = "qc_discard"
    QC_MOVE = "qc_move"
    QC_MOVE_PAGES = "qc_move_pages"
    QC_OVERRIDE = "qc_override"
    QC_ROTATE = "qc_rotate"
    QC_VIEW = "qc_view"
    QUARANTINE = "quarantine"
    QUARANTINE_DISCARD = "quarantine_discard"
    QUARANTINE_RETRY = "quarantine_retry"
    READ = "read"
    READ_NOTICES = "read_notices"
    REOPEN_ITEM = "reopen_item"
    REQUEST = "request"
    RESTORE = "restore"
    REVOKE = "revoke"
    SAMPLING_DRAW = "sampling_draw"
    SAMPLING_SIGNOFF = "sampling_signoff"
    SAMPLING_VERDICT = "sampling_verdict"
    SCAN = "scan"
    SEAL = "seal"
    SYNC = "sync"
    USER_ADD = "user_add"
    USER_DISABLE = "user_disable"
    VERIFY = "verify"
    WITNESS = "witness"


class Outcome(StrEnum):
    """How an audited operation ended (the `outcome` of a record)."""

    OK = "ok"
    REFUSED = "refused"
    FAILED = "failed"
    REPLAY = "replay"  # the same content again: nothing new stored
    MISMATCH = "mismatch"  # a witnessed head differs


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    at: str
    actor: str
    action: str  # an Action (plain text when read back)
    target: str
    outcome: str  # an Outcome (plain text when read back)
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


class BreakReason(StrEnum):
    """Why a hash chain is broken at a row."""

    MISSING = "missing"  # a gap in the numbering
    RELINKED = "relinked"  # its link to the previous row is wrong
    EDITED = "edited"  # its content no longer hashes to its stored hash
    TRUNCATED = "truncated"  # with a witness: a witnessed row is gone
    RECHAINED = "rechained"  # with a witness: a witnessed row has another hash


@dataclass(frozen=True)
class ChainBreak:
    """The first bad row of a chain and why (`BreakReason`)."""

    seq: int
    reason: BreakReason
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "reason": self.reason, "source": self.source}


def first_bad_row(rows: Iterable[tuple[AuditRecord, str]]) -> tuple[ChainBreak | None, dict[int, str]]:
    """Walk (record, stored hash) in seq order; the first break and {seq: stored hash} of the rows before it."""
    prev, expected = GENESIS, 1
    hashes: dict[int, str] = {}
    for rec, stored in rows:
        if rec.seq != expected:
            return ChainBreak(expected, BreakReason.MISSING), hashes
        if rec.prev_hash != prev:
            return ChainBreak(rec.seq, BreakReason.RELINKED), hashes
        if rec.digest() != stored:
            return ChainBreak(rec.seq, BreakReason.EDITED), hashes
        hashes[rec.seq] = stored
        prev, expected = stored, expected + 1
    return None, hashes
