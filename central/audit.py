"""Central's audit trail: every key operation, one hash-chained row (shared.audit).

Recorded: enrolment, every batch received or refused, every page opened with
the HPKE key (export, verify). A batch's row is written in the batch's own
transaction, so the trail can never say "received" for a batch that is not
there. Rows are only ever inserted; `verify_chain` finds the first broken link.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from juanzong.central import db
from juanzong.shared.audit import GENESIS, AuditRecord, first_break

PLACE = "central"


def append(conn: Connection, *, actor: str, action: str, target: str, outcome: str = "ok", **detail: Any) -> AuditRecord:
    """Append inside the caller's write transaction. The chain's head is read and
    extended under the audit lock (held to commit), so two workers never both
    append after the same row; on SQLite the write transaction already excludes them."""
    t = db.audit
    db.lock(conn, db.Lock.AUDIT)
    last = conn.execute(select(t.c.seq, t.c.hash).order_by(t.c.seq.desc()).limit(1)).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    from juanzong.central.repository import utc_now

    rec = AuditRecord(seq, utc_now(), actor, action, target, outcome, detail, PLACE, prev)
    conn.execute(insert(t).values(seq=seq, at=rec.at, actor=actor, action=action, target=target, outcome=outcome,
                                  detail=json.dumps(detail, ensure_ascii=False, sort_keys=True), place=PLACE,
                                  prev_hash=prev, hash=rec.digest()))
    return rec


def record(engine: Engine, **fields: Any) -> AuditRecord:
    """Append in a transaction of its own."""
    with db.writer(engine).begin() as conn:
        return append(conn, **fields)


def records(engine: Engine) -> list[tuple[AuditRecord, str]]:
    t = db.audit
    with engine.connect() as conn:
        rows = conn.execute(select(t).order_by(t.c.seq)).all()
    return [(AuditRecord(r.seq, r.at, r.actor, r.action, r.target, r.outcome, json.loads(r.detail), r.place, r.prev_hash), r.hash)
            for r in rows]


def verify_chain(engine: Engine) -> int | None:
    """Seq of the first record that was edited, removed or reordered; None when intact."""
    rows = records(engine)
    broken = first_break(rec for rec, _ in rows)
    if broken is not None:
        return broken
    return next((rec.seq for rec, stored in rows if rec.digest() != stored), None)
