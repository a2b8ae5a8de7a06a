"""Central's audit trail: every key operation, one hash-chained row (shared.audit).

Recorded: enrolment, revocation, every batch received, replayed or refused,
every page opened with the HPKE key (export, verify), orphan removal. A
batch's row is written in the batch's own transaction, so the trail can never
say "received" for a batch that is not there. Rows are only ever inserted.

A chain alone cannot show that its last rows were cut off, or that it was
re-computed after an edit. So its head is witnessed outside the table:

- every receipt carries central's head (signed); appliances keep receipts and
  hand the newest head back in their next manifest (`holds` checks it);
- a signed checkpoint of the head is appended to a file outside the database
  (`checkpoint`, setting `checkpoint_file`) after every receipt and every verify.

`verify` walks the chain and names the first bad row exactly: `missing`
(a gap in the numbering), `relinked` (its link to the previous row is wrong),
`edited` (its content no longer hashes to its stored hash); then it checks
every checkpoint and witnessed head: `truncated` (a witnessed row is gone) or
`rechained` (a witnessed row now has another hash).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, insert, select

from juanzong.central import db
from juanzong.shared import clock, crypto
from juanzong.shared.audit import GENESIS, Action, AuditRecord, BreakReason, ChainBreak, Outcome, first_bad_row
from juanzong.shared.durable import append_durable
from juanzong.shared.manifest import AuditHead, Checkpoint, Signed, open_signed, sign

if TYPE_CHECKING:
    from juanzong.central.home import Central

PLACE = "central"


def utc_now() -> str:
    return clock.iso("seconds")


def append(conn: Connection, *, actor: str, action: Action, target: str, outcome: Outcome = Outcome.OK, **detail: Any) -> AuditRecord:
    """Append inside the caller's write transaction. The chain's head is read and
    extended under the audit lock (held to commit), so two workers never both
    append after the same row; on SQLite the write transaction already excludes them."""
    t = db.audit
    db.lock(conn, db.Lock.AUDIT)
    last = conn.execute(select(t.c.seq, t.c.hash).order_by(t.c.seq.desc()).limit(1)).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    detail = {k: v for k, v in detail.items() if v is not None}
    rec = AuditRecord(seq, utc_now(), actor, action, target, outcome, detail, PLACE, prev)
    conn.execute(
        insert(t).values(
            seq=seq,
            at=rec.at,
            actor=actor,
            action=action,
            target=target,
            outcome=outcome,
            detail=json.dumps(detail, ensure_ascii=False, sort_keys=True),
            place=PLACE,
            prev_hash=prev,
            hash=rec.digest(),
        )
    )
    return rec


def record(engine: Engine, **fields: Any) -> AuditRecord:
    """Append in a transaction of its own."""
    with db.writer(engine).begin() as conn:
        return append(conn, **fields)


def records(engine: Engine) -> list[tuple[AuditRecord, str]]:
    t = db.audit
    with engine.connect() as conn:
        rows = conn.execute(select(t).order_by(t.c.seq)).all()
    return [
        (AuditRecord(r.seq, r.at, r.actor, r.action, r.target, r.outcome, json.loads(r.detail), r.place, r.prev_hash), r.hash) for r in rows
    ]


def head(engine: Engine) -> AuditHead:
    t = db.audit
    with engine.connect() as conn:
        row = conn.execute(select(t.c.seq, t.c.hash).order_by(t.c.seq.desc()).limit(1)).first()
    return AuditHead(seq=row[0], hash=row[1]) if row else AuditHead(seq=0, hash=GENESIS)


def batch_head(engine: Engine, batch_id: str) -> AuditHead | None:
    """The head right after a batch was stored: its own `sync` row (stable, so a re-issued receipt is identical)."""
    t = db.audit
    query = select(t.c.seq, t.c.hash).where(t.c.action == Action.SYNC, t.c.target == batch_id, t.c.outcome == Outcome.OK)
    with engine.connect() as conn:
        row = conn.execute(query.order_by(t.c.seq).limit(1)).first()
    return AuditHead(seq=row[0], hash=row[1]) if row else None


def holds(engine: Engine, witnessed: AuditHead) -> bool:
    """Does the chain still hold this head (the row at its seq has its hash)?"""
    if witnessed.seq == 0:
        return True
    t = db.audit
    with engine.connect() as conn:
        stored = conn.execute(select(t.c.hash).where(t.c.seq == witnessed.seq)).scalar()
    return stored == witnessed.hash


# --- checkpoints outside the database ---------------------------------------------------------


def checkpoint(central: Central, at_head: AuditHead | None = None) -> Checkpoint:
    """Append a signed checkpoint of the head to the checkpoint file (O_APPEND, fsync)."""
    point = Checkpoint(schema=1, kind="checkpoint", place=central.central_id, head=at_head or head(central.repo.engine), at=utc_now())
    signed = sign(point, central.keys.signing)
    line = json.dumps(signed.to_wire(), ensure_ascii=False).encode("utf-8") + b"\n"
    path = central.settings.checkpoint_file
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    append_durable(path, line)  # one write: appends of concurrent workers never interleave
    return point


def checkpoints(path: Path, central_key: Any) -> tuple[list[AuditHead], list[int]]:
    """Heads of every checkpoint whose signature holds, and the line numbers of those that do not."""
    heads: list[AuditHead] = []
    bad: list[int] = []
    if not path.exists():
        return heads, bad
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            point = decode_checkpoint(Signed.from_wire(json.loads(line)), central_key)
        except Exception:  # noqa: BLE001 - any fault in a line is a bad checkpoint, reported by number
            bad.append(number)
            continue
        heads.append(point.head)
    return heads, bad


def decode_checkpoint(signed: Signed, central_key: Any) -> Checkpoint:
    return open_signed(signed, central_key, Checkpoint)


# --- verify --------------------------------------------------------------------------------


def verify_chain(engine: Engine, witnesses: Iterable[tuple[str, AuditHead]] = ()) -> ChainBreak | None:
    """The first bad row of central's chain, against its own links and every witnessed head."""
    broken, hashes = first_bad_row(records(engine))
    if broken is not None:
        return broken
    last = max(hashes, default=0)
    found: list[ChainBreak] = []
    for source, witnessed in witnesses:
        if witnessed.seq > last:
            found.append(ChainBreak(last + 1, BreakReason.TRUNCATED, source))
        elif witnessed.seq and hashes.get(witnessed.seq) != witnessed.hash:
            found.append(ChainBreak(witnessed.seq, BreakReason.RECHAINED, source))
    return min(found, key=lambda b: b.seq, default=None)


def witnesses(central: Central) -> tuple[list[tuple[str, AuditHead]], list[int]]:
    """Heads witnessed outside the audit table: signed checkpoints, and central heads appliances handed back."""
    key = crypto.load_verify_key(central.keys.signing_public)
    heads, bad = checkpoints(central.settings.checkpoint_file, key)
    out = [(f"checkpoint seq {h.seq}", h) for h in heads]
    for appliance_id, head_ in central.repo.witnessed_central_heads():
        out.append((f"appliance {appliance_id}", head_))
    return out, bad
