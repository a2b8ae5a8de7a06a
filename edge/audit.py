"""The appliance's audit trail: every key operation, one hash-chained row."""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from juanzong.edge.repo import audit as rows
from juanzong.edge.repo import write_tx
from juanzong.shared import clock
from juanzong.shared.audit import GENESIS, Action, AuditRecord, Outcome, first_bad_row


def now_iso() -> str:
    return clock.iso()


def record(
    db: Database, *, place: str, actor: str, action: Action, target: str, outcome: Outcome = Outcome.OK, **detail: Any
) -> AuditRecord:
    """Append one record; joins the caller's transaction when there is one."""
    if not db.conn.in_transaction:
        with write_tx(db):
            return record(db, place=place, actor=actor, action=action, target=target, outcome=outcome, **detail)
    last = rows.last(db)
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    rec = AuditRecord(seq, now_iso(), actor, action, target, outcome, detail, place, prev)
    rows.append(db, rec, json.dumps(detail, ensure_ascii=False, sort_keys=True), rec.digest())
    return rec


def records(db: Database) -> list[AuditRecord]:
    return [AuditRecord(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), r[7], r[8]) for r in rows.rows(db)]


def records_with_hashes(db: Database) -> list[tuple[AuditRecord, str]]:
    return [(AuditRecord(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), r[7], r[8]), r[9]) for r in rows.rows_with_hashes(db)]


def head(db: Database) -> dict[str, Any]:
    last = rows.last(db)
    return {"seq": last[0], "hash": last[1]} if last else {"seq": 0, "hash": GENESIS}


def verify_chain(db: Database) -> int | None:
    """Seq of the first bad record (edited, removed, relinked), or None when intact (`edge verify` says more)."""
    broken, _ = first_bad_row(records_with_hashes(db))
    return None if broken is None else broken.seq
