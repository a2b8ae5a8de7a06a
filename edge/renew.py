"""`edge keys renew`: a new signing key and TLS key, vouched for by the old signing key.

The appliance keeps its id and its batch sequence; only its keys change:

1. `edge keys renew --out renewal.json` makes the new Ed25519 signing key and TLS client key
   beside the current ones (`*.new`), and writes a renewal request: the identity file's
   fields with the new public key and certificate request, signed with the CURRENT signing
   key — central accepts the new key only from the holder of the enrolled one;
2. `central enroll --renew renewal.json --out enrolment.json` checks that signature against the
   enrolled key, replaces the key (audited; batches and sequence numbers untouched) and issues a
   client certificate for the new TLS key;
3. `edge pair --enrolment enrolment.json` installs the certificate and, since it is for the new
   TLS key, moves both new keys into place.

A sealed batch not yet acknowledged is signed with the old key, so renewal waits until the
outbox is empty (KEY_RENEW_BLOCKED).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlite_utils import Database

from juanzong.edge import audit
from juanzong.edge.keys import CLIENT_KEY, SIGNING_FILE, load_keys, write_secret
from juanzong.edge.repo import batches as repo_batches
from juanzong.shared import crypto, tlsca
from juanzong.shared.audit import Action
from juanzong.shared.durable import fsync_dir, write_durable
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.manifest import canonical_json

NEW_SUFFIX = ".new"


def renewal_body(doc: dict[str, Any]) -> bytes:
    """What the old key signs: the request without its `renewal` block."""
    return canonical_json({k: v for k, v in doc.items() if k != "renewal"})


def request_renewal(db: Database, keys_dir: Path, identity_file: Path, out: Path, actor: str) -> dict[str, Any]:
    pending = repo_batches.count_in_state(db, repo_batches.BatchState.SEALED)
    if pending:
        raise AppError(ErrorCode.KEY_RENEW_BLOCKED, count=pending)
    current = load_keys(keys_dir).signing
    identity = json.loads(identity_file.read_text("utf-8"))
    signing, tls_key = Ed25519PrivateKey.generate(), tlsca.new_key()
    for name, raw in ((SIGNING_FILE, crypto.private_bytes(signing)), (CLIENT_KEY, tlsca.key_pem(tls_key))):
        (keys_dir / (name + NEW_SUFFIX)).unlink(missing_ok=True)  # an earlier request never completed
        write_secret(keys_dir / (name + NEW_SUFFIX), raw)
    fsync_dir(keys_dir)
    doc = {
        **{k: identity[k] for k in ("appliance_id", "profile", "name") if k in identity},
        "signing_public": crypto.b64(crypto.public_bytes(signing.public_key())),
        "tls_csr": tlsca.new_csr(tls_key, identity["appliance_id"]).decode("ascii"),
    }
    doc["renewal"] = {
        "previous_signing_public": crypto.b64(crypto.public_bytes(current.public_key())),
        "signature": crypto.sign(current, renewal_body(doc)),
    }
    write_durable(out, json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8"))
    audit.record(
        db,
        place=identity["appliance_id"],
        actor=actor,
        action=Action.KEY_RENEW_REQUEST,
        target="signing,tls",
        new_signing_public=doc["signing_public"],
        key_use="signing",
    )
    return doc


def complete_if_renewed(keys_dir: Path, cert_public: Any) -> bool:
    """After `edge pair --enrolment`: the certificate is for the new TLS key → both new keys take over."""
    new_tls = keys_dir / (CLIENT_KEY + NEW_SUFFIX)
    if not new_tls.exists() or tlsca.load_key(new_tls.read_bytes()).public_key() != cert_public:
        return False
    for name in (SIGNING_FILE, CLIENT_KEY):
        (keys_dir / (name + NEW_SUFFIX)).replace(keys_dir / name)  # the old keys are destroyed here
    fsync_dir(keys_dir)
    return True
