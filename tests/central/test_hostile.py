"""Issue 9 against a real `central serve` over mutual TLS: a compromised appliance and a hostile network.

Each test sends what an attacker would and checks the answer, that nothing was
stored, and the audit row (with the verified sender as actor).
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from central_kit import Page, Scanner, sign_raw
from live_kit import LiveCentral, start_live

from juanzong.central import audit
from juanzong.central.config import load_settings
from juanzong.central.home import open_central
from juanzong.shared.ids import format_id
from juanzong.shared.manifest import Signed

TIMEOUT = 2  # seconds: the live central's request timeout in this module


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCentral]:
    central = start_live(tmp_path_factory.mktemp("hostile"), request_timeout_seconds=TIMEOUT, max_connections_per_address=64)
    yield central
    central.stop()


def upload(live: LiveCentral, scanner: Scanner, pages: list[Page]) -> None:
    s = live.session(scanner)
    for p in pages:
        resp = s.put(live.url(f"/api/blobs/{p.sealed.sha256}"), data=p.sealed.data, timeout=10)
        assert resp.status_code in (200, 201), resp.text


def post(live: LiveCentral, scanner: Scanner, signed: Signed | dict[str, Any]) -> requests.Response:
    wire = signed.to_wire() if isinstance(signed, Signed) else signed
    return live.session(scanner).post(live.url("/api/manifests"), json=wire, timeout=30)


def stored_batch(live: LiveCentral, scanner: Scanner, seq: int = 1) -> dict[str, Any]:
    intake = scanner.intake()
    item = scanner.item(intake, 2)
    pages = [scanner.page(item, n) for n in (1, 2)]
    upload(live, scanner, pages)
    doc = scanner.manifest(seq, [intake], [item], pages)
    assert post(live, scanner, scanner.sign(doc)).status_code == 201
    return doc


def counts(live: LiveCentral) -> tuple[int, int, int]:
    central = open_central(load_settings(live.home))
    try:
        items = central.repo.items_with_received()
        return central.repo.page_count(), len(items), len(central.repo.intakes())
    finally:
        central.close()


def last_audit(live: LiveCentral) -> audit.AuditRecord:
    central = open_central(load_settings(live.home))
    try:
        return audit.records(central.repo.engine)[-1][0]
    finally:
        central.close()


def refused(resp: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error", "message", "params"} and body["error"] == code, body
    return body


# --- 1. an appliance can only touch its own dossier -------------------------------------------


def test_another_appliance_cannot_add_a_page_to_a_foreign_item(live: LiveCentral) -> None:
    a, b = live.enrol("一号"), live.enrol("二号")
    doc = stored_batch(live, a)
    before = counts(live)
    intruder = b.page(doc["items"][0], 3)  # validly sealed and signed by B, aimed at A's item
    upload(live, b, [intruder])
    body = refused(post(live, b, b.sign(b.manifest(1, [], [], [intruder]))), 409, "MANIFEST_RECORD_FOREIGN")
    assert format_id(doc["items"][0]["item_id"]) in body["message"]  # one printed spelling
    assert counts(live) == before  # nothing stored
    row = last_audit(live)
    assert (row.actor, row.action, row.outcome, row.detail["code"]) == (b.appliance_id, "sync", "refused", "MANIFEST_RECORD_FOREIGN")


def test_another_appliance_cannot_add_an_item_to_a_foreign_intake(live: LiveCentral) -> None:
    a, b = live.enrol("一号"), live.enrol("二号")
    doc = stored_batch(live, a)
    before = counts(live)
    item = b.item(doc["intakes"][0], 5, seq=2, name="证据材料")
    refused(post(live, b, b.sign(b.manifest(1, [], [item], []))), 409, "MANIFEST_RECORD_FOREIGN")
    assert counts(live) == before


def test_a_certificate_cannot_post_a_manifest_another_appliance_signed(live: LiveCentral) -> None:
    a, b = live.enrol("一号"), live.enrol("二号")
    intake = a.intake()
    signed = a.sign(a.manifest(1, [intake], [], []))
    refused(post(live, b, signed), 403, "SENDER_MISMATCH")  # B's TLS certificate, A's signature
    row = last_audit(live)
    assert (row.actor, row.detail["tls"], row.detail["code"]) == (a.appliance_id, b.appliance_id, "SENDER_MISMATCH")


def test_a_refused_signature_is_audited_as_unverified_not_as_the_claimed_appliance(live: LiveCentral) -> None:
    a, b = live.enrol("一号"), live.enrol("二号")
    forged = sign_raw(a.manifest(1, [a.intake()], [], []), b.signing)  # claims A, signed by B
    refused(post(live, b, forged), 403, "MANIFEST_SIGNATURE_INVALID")
    row = last_audit(live)
    assert row.actor == "unverified" and row.detail["claimed"] == a.appliance_id and row.detail["tls"] == b.appliance_id


# --- 2. every id and field is validated before anything is stored ------------------------------


@pytest.mark.parametrize(
    "where, value",
    [
        ("batch_id", "../../../etc/passwd"),
        ("batch_id", "<img src=x onerror=alert(1)>"),
        ("intake_id", "T../x"),
        ("page_id", "P<script>"),
        ("blob_kind", "../../page"),
        ("submitter", "<script>" * 40),
    ],
)
def test_hostile_ids_and_texts_are_refused_and_nothing_is_stored(live: LiveCentral, where: str, value: str) -> None:
    a = live.enrol("一号")
    intake = a.intake()
    item = a.item(intake, 1)
    page = a.page(item, 1)
    upload(live, a, [page])
    doc = a.manifest(1, [intake], [item], [page])
    target = {
        "batch_id": doc,
        "intake_id": doc["intakes"][0],
        "page_id": doc["pages"][0],
        "blob_kind": doc["pages"][0]["blob"],
        "submitter": doc["intakes"][0],
    }[where]
    target[where.removeprefix("blob_")] = value
    before = counts(live)
    refused(post(live, a, a.sign(doc)), 400, "MANIFEST_SCHEMA_INVALID")
    assert counts(live) == before


def test_sequence_numbers_only_move_forward(live: LiveCentral) -> None:
    a = live.enrol("一号")
    stored_batch(live, a, seq=5)
    again = a.manifest(5, [a.intake()], [], [])  # reused
    refused(post(live, a, a.sign(again)), 409, "MANIFEST_SEQ_REUSED")
    lower = a.manifest(4, [a.intake()], [], [])
    refused(post(live, a, a.sign(lower)), 409, "MANIFEST_SEQ_BACKWARDS")
    assert post(live, a, a.sign(a.manifest(6, [a.intake()], [], []))).status_code == 201


def test_an_appliance_audit_head_that_goes_back_is_refused(live: LiveCentral) -> None:
    a = live.enrol("一号")
    first = a.manifest(1, [a.intake()], [], [])
    first["audit_head"] = {"seq": 40, "hash": "a" * 64}
    assert post(live, a, a.sign(first)).status_code == 201
    cut = a.manifest(2, [a.intake()], [], [])
    cut["audit_head"] = {"seq": 12, "hash": "b" * 64}  # the appliance's chain was truncated
    refused(post(live, a, a.sign(cut)), 409, "AUDIT_HEAD_REGRESSED")
    rewritten = a.manifest(2, [a.intake()], [], [])
    rewritten["audit_head"] = {"seq": 40, "hash": "c" * 64}  # same length, other content: re-chained
    refused(post(live, a, a.sign(rewritten)), 409, "AUDIT_HEAD_REGRESSED")


# --- 3. no unhandled error -------------------------------------------------------------------


def test_deeply_nested_json_gets_a_400_with_a_code_and_an_audit_row(live: LiveCentral) -> None:
    a = live.enrol("一号")
    s = live.session(a)
    deep = "[" * 100_000 + "]" * 100_000
    resp = s.post(live.url("/api/manifests"), data=deep, headers={"Content-Type": "application/json"}, timeout=30)
    refused(resp, 400, "REQUEST_INVALID")
    row = last_audit(live)
    assert (row.action, row.outcome, row.actor) == ("request", "refused", a.appliance_id)
    inner = '{"appliance_id":' + deep + "}"
    body = refused(post(live, a, {"body": inner, "signature": "AAAA"}), 400, "MANIFEST_SCHEMA_INVALID")
    assert body["params"]["detail"]
    signed_deep = sign_raw({"schema": 1}, a.signing)
    signed_deep = Signed(('{"appliance_id":"' + a.appliance_id + '","x":' + deep + "}").encode(), "")
    from juanzong.shared import crypto

    signed_deep = Signed(signed_deep.body, crypto.sign(a.signing, signed_deep.body))
    refused(post(live, a, signed_deep), 400, "MANIFEST_SCHEMA_INVALID")


def test_wrongly_typed_fields_get_a_400_not_a_500(live: LiveCentral) -> None:
    a = live.enrol("一号")
    refused(post(live, a, {"body": ["a list"], "signature": "x"}), 400, "REQUEST_INVALID")
    refused(post(live, a, {"body": "{}", "signature": {"x": 1}}), 400, "REQUEST_INVALID")
    doc = a.manifest(1, [a.intake()], [], [])
    doc["intakes"][0]["intake_id"] = [doc["intakes"][0]["intake_id"]]  # a list where an id belongs
    body = refused(post(live, a, a.sign(doc)), 400, "MANIFEST_SCHEMA_INVALID")
    assert "intakes[0].intake_id" in body["params"]["detail"]
    resp = live.session(a).put(live.url("/api/blobs/not-a-hash"), data=b"x", timeout=10)
    assert resp.status_code in (400, 422) and set(resp.json()) == {"error", "message", "params"}
    resp = live.session(a).delete(live.url("/api/manifests"), timeout=10)
    assert resp.status_code == 405 and "POST" in resp.headers.get("Allow", "")
    assert set(resp.json()) == {"error", "message", "params"}


# --- 5. reading is authorised ----------------------------------------------------------------


def test_no_appliance_reads_the_report(live: LiveCentral) -> None:
    a = live.enrol("一号")
    stored_batch(live, a)
    resp = live.session(a).get(live.url("/api/report"), timeout=10)
    body = refused(resp, 403, "FORBIDDEN")
    assert "（2024）" not in resp.text and "张三" not in resp.text
    assert "central report" in body["message"]


# --- 6. connections are cut (bounded run time: every wait ends at the socket timeout) -------


def closed_by_server(sock: socket.socket) -> bool:
    """True when the server closes the connection; a socket timeout (20 s) means it did not."""
    try:
        while True:
            if not sock.recv(4096):
                return True
    except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def test_a_socket_that_never_sends_a_client_hello_is_closed(live: LiveCentral) -> None:
    with socket.create_connection(("127.0.0.1", live.port), timeout=20) as raw:
        assert closed_by_server(raw)


def test_an_idle_tls_connection_is_closed(live: LiveCentral) -> None:
    a = live.enrol("一号")
    with live.tls_socket(a) as tls:
        assert closed_by_server(tls)


def test_slow_headers_are_cut(live: LiveCentral) -> None:
    a = live.enrol("一号")
    with live.tls_socket(a) as tls:
        tls.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")  # the final blank line never comes
        assert closed_by_server(tls)


def test_a_slow_body_is_cut(live: LiveCentral) -> None:
    a = live.enrol("一号")
    with live.tls_socket(a) as tls:
        tls.sendall(b"PUT /api/blobs/" + b"a" * 64 + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 10)
        assert closed_by_server(tls)


@pytest.mark.e2e  # a second `central serve` process of its own
def test_connections_over_the_per_address_cap_are_closed_at_once(tmp_path: Path) -> None:
    live = start_live(tmp_path, request_timeout_seconds=TIMEOUT, max_connections_per_address=3)
    try:
        held = [socket.create_connection(("127.0.0.1", live.port), timeout=20) for _ in range(3)]
        with socket.create_connection(("127.0.0.1", live.port), timeout=20) as extra:
            assert closed_by_server(extra)
        for sock in held:  # the held ones are cut at the handshake deadline, and central answers again
            assert closed_by_server(sock)
            sock.close()
        probe = live.scanners[0]
        assert live.session(probe).get(live.url("/api/health"), timeout=10).status_code == 200
    finally:
        live.stop()
