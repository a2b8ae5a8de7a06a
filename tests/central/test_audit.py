"""Central's audit trail: enrolment, received and refused batches, every use of the HPKE key."""

from __future__ import annotations

from typing import Any

from central_kit import Scanner, submit, upload
from litestar.testing import TestClient
from sqlalchemy import text

from juanzong.central import audit
from juanzong.central.config import CentralSettings
from juanzong.central.home import open_central
from juanzong.central.pages import open_page
from juanzong.shared.manifest import Signed


def one_batch(client: TestClient, scanner: Scanner) -> dict[str, Any]:
    intake = scanner.intake()
    item = scanner.item(intake, 1)
    pages = [scanner.page(item, 1)]
    doc = scanner.manifest(1, [intake], [item], pages)
    upload(client, scanner, pages)
    assert submit(client, scanner.sign(doc)).status_code == 201
    return doc


def test_batches_refusals_and_page_exports_are_chained_records(client: TestClient, scanner: Scanner, settings: CentralSettings) -> None:
    doc = one_batch(client, scanner)
    tampered = scanner.sign(scanner.manifest(2, [], [], []))
    assert submit(client, Signed(tampered.body.replace(b'"seq":2', b'"seq":3'), tampered.signature)).status_code == 403
    central = open_central(settings)
    try:
        open_page(central, doc["pages"][0]["page_id"])
        rows = [(r.action, r.target, r.outcome) for r, _ in audit.records(central.repo.engine)]
        assert ("enroll", scanner.appliance_id, "ok") in rows
        assert ("sync", doc["batch_id"], "ok") in rows
        assert any(a == "sync" and o == "refused" for a, _, o in rows)
        assert ("export", doc["pages"][0]["page_id"], "ok") in rows
        assert audit.verify_chain(central.repo.engine) is None
    finally:
        central.close()


def test_an_edited_audit_record_is_found_by_verify(client: TestClient, scanner: Scanner, settings: CentralSettings) -> None:
    one_batch(client, scanner)
    central = open_central(settings)
    try:
        with central.repo.engine.begin() as conn:
            conn.execute(text("UPDATE audit SET actor = 'someone else' WHERE action = 'sync'"))
        assert audit.verify_chain(central.repo.engine) is not None
        from juanzong.central.reconcile.verify import verify_store

        result = verify_store(central)
        assert any(f.kind == "audit" for f in result.failures)
    finally:
        central.close()


# --- issue 9: truncation and re-chaining are caught, and the first bad row is named -----------

import json as _json  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from central_kit import run_cli  # noqa: E402

from juanzong.shared.audit import GENESIS, AuditRecord  # noqa: E402


def verify_json(home: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, Any]]]:
    rc, out = run_cli(["verify", "--home", str(home), "--json"], capsys)
    return rc, [f for f in _json.loads(out)["failures"] if f["kind"] in ("audit", "checkpoint")]


def rechain(settings: CentralSettings, from_seq: int, actor: str) -> None:
    """What an attacker with the database does: edit a row, then recompute every hash after it."""
    central = open_central(settings)
    try:
        rows = audit.records(central.repo.engine)
        with central.repo.engine.begin() as conn:
            prev = GENESIS
            for rec, _ in rows:
                if rec.seq == from_seq:
                    rec = AuditRecord(rec.seq, rec.at, actor, rec.action, rec.target, rec.outcome, rec.detail, rec.where, prev)
                else:
                    rec = AuditRecord(rec.seq, rec.at, rec.actor, rec.action, rec.target, rec.outcome, rec.detail, rec.where, prev)
                conn.execute(
                    text("UPDATE audit SET actor = :a, prev_hash = :p, hash = :h WHERE seq = :s"),
                    {"a": rec.actor, "p": prev, "h": rec.digest(), "s": rec.seq},
                )
                prev = rec.digest()
        assert audit.verify_chain(central.repo.engine) is None  # the chain alone looks intact
    finally:
        central.close()


def two_batches(client: TestClient, scanner: Scanner) -> None:
    for seq in (1, 2):
        intake = scanner.intake()
        item = scanner.item(intake, 1)
        pages = [scanner.page(item, 1)]
        upload(client, scanner, pages)
        assert submit(client, scanner.sign(scanner.manifest(seq, [intake], [item], pages))).status_code == 201


def test_verify_names_the_edited_row_exactly(
    client: TestClient, scanner: Scanner, settings: CentralSettings, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    two_batches(client, scanner)
    central = open_central(settings)
    try:
        with central.repo.engine.begin() as conn:
            conn.execute(text("UPDATE audit SET actor = 'someone else' WHERE seq = 2"))
    finally:
        central.close()
    rc, failures = verify_json(home, capsys)
    assert rc == 1 and failures == [{"kind": "audit", "ident": "2", "outcome": "edited"}]


def test_deleting_the_last_rows_is_caught_by_the_signed_checkpoints(
    client: TestClient, scanner: Scanner, settings: CentralSettings, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    two_batches(client, scanner)
    central = open_central(settings)
    try:
        last_sync = max(r.seq for r, _ in audit.records(central.repo.engine) if r.action == "sync" and r.outcome == "ok")
        with central.repo.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit WHERE seq >= :s"), {"s": last_sync})
        assert audit.verify_chain(central.repo.engine) is None  # what `verify` used to rely on
    finally:
        central.close()
    rc, failures = verify_json(home, capsys)
    assert rc == 1
    assert failures[0]["ident"] == str(last_sync) and failures[0]["outcome"] == "truncated"
    assert failures[0]["source"].startswith("checkpoint")
    _, text_out = run_cli(["verify", "--home", str(home)], capsys)
    # the first verify appended its own row where the deleted ones were: now the witnessed row differs
    assert f"审计记录 第 {last_sync}条" in text_out and "完整性检查未通过" in text_out


def test_a_rechained_log_is_caught_by_the_checkpoints(
    client: TestClient, scanner: Scanner, settings: CentralSettings, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    two_batches(client, scanner)
    rechain(settings, 2, "someone else")
    rc, failures = verify_json(home, capsys)
    assert rc == 1 and failures[0]["outcome"] == "rechained"
    assert int(failures[0]["ident"]) >= 2  # the first checkpoint at or after the re-written row


def test_a_forged_checkpoint_line_is_reported(
    client: TestClient, scanner: Scanner, settings: CentralSettings, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    two_batches(client, scanner)
    with settings.checkpoint_file.open("a", encoding="utf-8") as f:
        f.write(_json.dumps({"body": '{"kind":"checkpoint"}', "signature": "AAAA"}) + "\n")
    rc, failures = verify_json(home, capsys)
    assert rc == 1 and failures[-1]["kind"] == "checkpoint" and failures[-1]["outcome"] == "signature_invalid"


def test_receipts_carry_central_head_and_a_rewritten_head_the_appliance_hands_back_is_flagged(
    client: TestClient, scanner: Scanner, settings: CentralSettings, central_identity: dict[str, Any]
) -> None:
    from juanzong.shared import crypto
    from juanzong.shared.manifest import Receipt, open_signed

    intake = scanner.intake()
    resp = submit(client, scanner.sign(scanner.manifest(1, [intake], [], [])))
    key = crypto.load_verify_key(crypto.unb64(central_identity["signing_public"]))
    receipt = open_signed(Signed.from_wire(resp.json()["receipt"]), key, Receipt)
    assert receipt.central_head is not None and receipt.appliance_head is not None
    rechain(settings, 1, "someone else")
    later = scanner.manifest(2, [scanner.intake()], [], [])
    later["central_head"] = {"seq": receipt.central_head.seq, "hash": receipt.central_head.hash}
    assert submit(client, scanner.sign(later)).status_code == 201  # the appliance is not at fault
    central = open_central(settings)
    try:
        rows = [r for r, _ in audit.records(central.repo.engine) if r.action == "witness"]
        assert rows and rows[-1].outcome == "mismatch" and rows[-1].actor == scanner.appliance_id
    finally:
        central.close()
