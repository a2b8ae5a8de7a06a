"""The typed manifest: one definition, strict decode, canonical bytes the writer checks before signing."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from juanzong.shared import crypto
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.ids import Kind, new_id
from juanzong.shared.manifest import (
    DEFAULT_SUITE,
    TRAVELLING_ROLES,
    AuditHead,
    BlobKind,
    BlobRef,
    Intake,
    Item,
    Manifest,
    Page,
    PageRole,
    Side,
    Signed,
    Volume,
    canonical_json,
    decode,
    open_signed,
    sign,
)


def manifest() -> Manifest:
    intake = Intake(
        intake_id=new_id(Kind.INTAKE),
        case_number="（2024）京0102民初1234号",
        case={"year": 2024, "warnings": []},
        submitter="张三",
        received_at="2026-03-02T10:30:00+08:00",
        deadline="2026-03-02T18:00:00+08:00",
        urgent=False,
    )
    item = Item(
        item_id=new_id(Kind.ITEM),
        intake_id=intake.intake_id,
        seq=1,
        name="起诉状",
        declared_pages=1,
        volume=Volume.MAIN,
        catalog_dir="起诉状",
        original=True,
        colour=False,
    )
    page = Page(
        page_id=new_id(Kind.PAGE),
        item_id=item.item_id,
        page_no=1,
        side=Side.RECTO,
        source_name="a.jpg",
        source_sha256="a" * 64,
        source_size=10,
        width=10,
        height=10,
        dpi=300,
        mode="RGB",
        scanned_at="2026-03-02T11:00:00+08:00",
        blob=BlobRef(sha256="b" * 64, size=100, kind=BlobKind.PAGE, sealed_key=crypto.b64(b"k" * 80)),
    )
    return Manifest(
        schema=1,
        appliance_id=new_id(Kind.APPLIANCE),
        batch_id=new_id(Kind.BATCH),
        seq=1,
        created_at="2026-03-02T12:00:00+08:00",
        intakes=[intake],
        items=[item],
        pages=[page],
        audit_head=AuditHead(seq=3, hash="c" * 64),
    )


def test_signed_bytes_are_sorted_utf8_json_and_decode_to_the_same_struct() -> None:
    doc = manifest()
    key = Ed25519PrivateKey.generate()
    signed = sign(doc, key)
    raw = json.loads(signed.body)
    assert signed.body == json.dumps(raw, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    assert "张三".encode() in signed.body  # UTF-8, not \\u escapes
    assert raw["pages"][0]["blob"]["suite"] == DEFAULT_SUITE == "aes256gcm-hpke-x25519-ed25519"
    assert open_signed(signed, key.public_key(), Manifest) == doc


def refused(body: dict | bytes) -> AppError:
    raw = body if isinstance(body, bytes) else canonical_json(body)
    with pytest.raises(AppError) as err:
        decode(raw, Manifest)
    assert err.value.code is ErrorCode.MANIFEST_SCHEMA_INVALID
    return err.value


@pytest.mark.parametrize(
    "path, value",
    [
        (("batch_id",), "../../etc/passwd"),
        (("batch_id",), "<script>alert(1)</script>"),
        (("pages", 0, "page_id"), ["P1234"]),  # a list where an id belongs
        (("items", 0, "item_id"), "T" + "0" * 9),  # an intake id where an item id belongs
        (("pages", 0, "blob", "kind"), "../page"),
        (("pages", 0, "blob", "suite"), "rot13"),
        (("intakes", 0, "submitter"), "张" * 101),
        (("items", 0, "declared_pages"), True),
        (("seq",), 0),
        (("pages", 0, "unknown_field"), 1),
    ],
)
def test_hostile_fields_are_refused_with_their_path(path: tuple, value: object) -> None:
    doc = json.loads(canonical_json(manifest()))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    err = refused(doc)
    assert "$" in err.params["detail"] or "编号" in err.params["detail"]


def test_a_wrong_check_character_is_refused() -> None:
    doc = json.loads(canonical_json(manifest()))
    ident = doc["intakes"][0]["intake_id"]
    doc["intakes"][0]["intake_id"] = ident[:-1] + ("0" if ident[-1] != "0" else "1")
    assert "校验位" in refused(doc).params["detail"]


def test_deep_nesting_and_non_json_are_refused_not_crashing() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    refused(deep)
    refused(b'{"appliance_id":' + deep + b"}")
    doc = json.loads(canonical_json(manifest()))
    doc["intakes"][0]["case"]["year"] = json.loads("[" * 50 + "]" * 50)
    refused(doc)
    refused(b"\xff\xfe")


def test_the_writer_refuses_to_sign_what_the_reader_would_refuse() -> None:
    import msgspec

    with pytest.raises(ValueError):  # a wrong id cannot even be built
        msgspec.structs.replace(manifest(), batch_id="B../../x")
    lower = msgspec.structs.replace(manifest(), created_at="yesterday")  # built, but the reader's decode refuses it
    with pytest.raises(AppError):
        sign(lower, Ed25519PrivateKey.generate())


def test_non_canonical_bytes_are_refused_even_when_typed_right() -> None:
    doc = json.loads(canonical_json(manifest()))
    pretty = json.dumps(doc, indent=1, ensure_ascii=False).encode("utf-8")
    assert "规范化" in refused(pretty).params["detail"]
    assert isinstance(Signed(pretty, "").sha256, str)


@pytest.mark.parametrize("role", sorted(set(PageRole) - TRAVELLING_ROLES))
def test_a_page_role_that_never_travels_is_refused(role: PageRole) -> None:
    """PageRole is defined once for both sides; a manifest carries only the travelling roles."""
    doc = json.loads(canonical_json(manifest()))
    doc["pages"][0]["role"] = role.value
    assert "不随批次传送" in refused(doc).params["detail"]


def test_every_travelling_role_decodes() -> None:
    for role in TRAVELLING_ROLES:
        doc = json.loads(canonical_json(manifest()))
        doc["pages"][0]["role"] = role.value
        assert decode(canonical_json(doc), Manifest).pages[0].role == role
