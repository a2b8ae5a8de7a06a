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
