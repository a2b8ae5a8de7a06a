"""Test helpers for central: a stand-in scanning point that builds real sealed pages and signed manifests."""

from __future__ import annotations

import io
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar.testing import TestClient
from PIL import Image

from juanzong.shared import crypto, tlsca
from juanzong.shared.crypto import SealedBlob
from juanzong.shared.ids import Kind, new_id
from juanzong.shared.manifest import Signed, canonical_json
from juanzong.shared.suites import SETTING_NAMES

CASE_NUMBER = "（2024）京0102民初1234号"


def jpeg_page(seed: int) -> bytes:
    """A small real JPEG, different for every seed (like two different scans)."""
    rng = random.Random(seed)
    img = Image.new("RGB", (64, 48), (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    for _ in range(40):
        img.putpixel((rng.randrange(64), rng.randrange(48)), (rng.randrange(256), 0, 0))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90, dpi=(300, 300))
    return out.getvalue()


@dataclass
class Page:
    record: dict[str, Any]
    sealed: SealedBlob
    plain: bytes


@dataclass
class Scanner:
    """A stand-in scanning point: its keys, and the manifests and blobs it would sync."""

    appliance_id: str
    signing: Ed25519PrivateKey
    kek: bytes
    central_identity: dict[str, Any]
    identity_path: Path
    tls_key: bytes = b""  # PEM of the key its TLS certificate request was made with
    _seed: int = field(default=0)

    def intake(self, submitter: str = "张三") -> dict[str, Any]:
        return {
            "intake_id": new_id(Kind.INTAKE),
            "case_number": CASE_NUMBER,
            "case": {"year": 2024, "court": "京0102", "type_code": "民初", "number": 1234},
            "submitter": submitter,
            "received_at": "2026-03-02T10:30:00+08:00",
            "deadline": "2026-03-02T18:00:00+08:00",
            "urgent": False,
        }

    def item(self, intake: dict[str, Any], declared: int, seq: int = 1, name: str = "起诉状") -> dict[str, Any]:
        return {
            "item_id": new_id(Kind.ITEM),
            "intake_id": intake["intake_id"],
            "seq": seq,
            "name": name,
            "declared_pages": declared,
            "volume": "main",
            "catalog_dir": name,
            "original": True,
            "colour": False,
        }

    def page(self, item: dict[str, Any] | None, page_no: int | None, plain: bytes | None = None, suite: str = "aes") -> Page:
        self._seed += 1
        plain = plain if plain is not None else jpeg_page(self._seed)
        page_id = new_id(Kind.PAGE)
        sealed = crypto.seal_blob(
            plain,
            appliance_id=self.appliance_id,
            blob_id=page_id,
            kind="page",
            kek=self.kek,
            central_public=crypto.load_hpke_public(crypto.unb64(self.central_identity["hpke_public"])),
            suite=SETTING_NAMES[suite],
        )
        record = {
            "page_id": page_id,
            "item_id": item["item_id"] if item else None,
            "page_no": page_no,
            "side": "recto",
            "source_name": f"scan_{self._seed:04d}.jpg",
            "source_sha256": crypto.sha256_hex(plain),
            "source_size": len(plain),
            "width": 64,
            "height": 48,
            "dpi": 300,
            "mode": "RGB",
            "findings": [],
            "scanned_at": "2026-03-02T11:00:00+08:00",
            "blob": {"sha256": sealed.sha256, "size": sealed.size, "kind": "page", "sealed_key": crypto.b64(sealed.sealed_central)},
        }
        if sealed.sm3:
            record["blob"] |= {"suite": str(sealed.suite), "sm3": sealed.sm3}
        return Page(record, sealed, plain)

    def manifest(
        self,
        seq: int,
        intakes: list[dict[str, Any]],
        items: list[dict[str, Any]],
        pages: list[Page],
        batch_id: str | None = None,
    ) -> dict[str, Any]:
        return {
            "schema": 1,
            "appliance_id": self.appliance_id,
            "batch_id": batch_id or new_id(Kind.BATCH),
            "seq": seq,
            "created_at": "2026-03-02T12:00:00+08:00",
            "intakes": intakes,
            "items": items,
            "pages": [p.record for p in pages],
            "audit_head": {"seq": 0, "hash": "0" * 64},
        }

    def sign(self, doc: dict[str, Any]) -> Signed:
        return sign_raw(doc, self.signing)


def sign_raw(doc: dict[str, Any], key: Ed25519PrivateKey) -> Signed:
    """Canonical bytes of any dict, signed: hostile manifests are built this way, past the struct."""
    body = canonical_json(doc)
    return Signed(body, crypto.sign(key, body))


def make_scanner(tmp_path: Path, central_identity: dict[str, Any], name: str = "一号扫描点") -> Scanner:
    signing = Ed25519PrivateKey.generate()
    appliance_id = new_id(Kind.APPLIANCE)
    path = tmp_path / f"appliance-{appliance_id}.json"
    tls_key = tlsca.new_key()
    csr = tlsca.new_csr(tls_key, appliance_id).decode("ascii")
    ident = {
        "appliance_id": appliance_id,
        "signing_public": crypto.b64(crypto.public_bytes(signing.public_key())),
        "profile": "default",
        "name": name,
        "tls_csr": csr,
    }
    path.write_text(json.dumps(ident, ensure_ascii=False), "utf-8")
    return Scanner(appliance_id, signing, crypto.new_kek(), central_identity, path, tlsca.key_pem(tls_key))


def upload(client: TestClient, scanner: Scanner, pages: list[Page]) -> None:
    for p in pages:
        resp = client.put(f"/api/blobs/{p.sealed.sha256}", content=p.sealed.data, headers={"X-Appliance-Id": scanner.appliance_id})
        assert resp.status_code in (200, 201), resp.text


def submit(client: TestClient, signed: Signed) -> Any:
    return client.post("/api/manifests", json=signed.to_wire())


def run_cli(argv: list[str], capsys: Any) -> tuple[int, str]:
    """Run `juanzong central …` through the real argument parser and command functions."""
    import argparse

    from juanzong.central import cli as central_cli

    parser = argparse.ArgumentParser()
    central_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["central", *argv])
    rc = args.func(args)
    return rc, capsys.readouterr().out


def report_json(client: TestClient) -> dict[str, Any]:
    """The reconciliation report of the central behind `client`, as `central report --json` gives it.
    (The sync listener serves it to no appliance.)"""
    from juanzong.central.reconcile.report import build_report

    central = client.app.dependencies["central"].dependency()
    return build_report(central.repo).to_dict()
