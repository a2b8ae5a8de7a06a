"""Sync faults against a real central process: the network edge is the only fake.

`FlakyTransport` wraps the real HTTP transport and fails at chosen moments,
the way a cable pulled mid-upload or a reply lost after central committed
would: the appliance must retry until a signed receipt arrives and central
must end with every page exactly once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from juanzong.edge import batches
from juanzong.edge.appliance import Appliance
from juanzong.edge.blobstore import BlobStore
from juanzong.edge.config import load_settings
from juanzong.edge.keys import load_keys
from juanzong.edge.repo import connect
from juanzong.edge.sync.client import sync_due
from juanzong.edge.sync.transport import HttpTransport, transport_for
from juanzong.edge.tooling import demo
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.manifest import Signed

pytestmark = pytest.mark.e2e


@dataclass
class FlakyTransport:
    inner: HttpTransport
    fail_put_after: int | None = None  # raise on the n-th blob upload
    lose_manifest_reply: bool = False  # the manifest reaches central, the reply does not
    puts: int = 0
    posts: int = 0
    log: list[str] = field(default_factory=list)

    def has_blob(self, sha256: str) -> bool:
        return self.inner.has_blob(sha256)

    def put_blob(self, sha256: str, data: bytes) -> None:
        self.puts += 1
        if self.fail_put_after is not None and self.puts == self.fail_put_after:
            self.log.append("cut during upload")
            raise AppError(ErrorCode.SYNC_NETWORK_DOWN, detail="connection reset")
        self.inner.put_blob(sha256, data)

    def post_manifest(self, signed: Signed) -> Signed:
        self.posts += 1
        receipt = self.inner.post_manifest(signed)
        if self.lose_manifest_reply and self.posts == 1:
            self.log.append("reply lost")
            raise AppError(ErrorCode.SYNC_NETWORK_DOWN, detail="read timeout")
        return receipt


@pytest.fixture
def running(tmp_path):
    port = demo.free_port()
    homes = demo.setup_homes(tmp_path, port)
    central = demo.start(["central", "serve", "--home", str(homes.central)], tmp_path / "central.log")
    demo.wait_central(homes.edge)
    yield homes
    demo.stop(central)


def ingest_and_seal(homes) -> tuple:
    settings = load_settings(homes.edge)
    intake = demo.register_intake(homes.edge)
    scanned = demo.scan_pages(homes.edge, intake)
    Appliance(settings).ingest_once()
    db = connect(settings.db_path)
    keys = load_keys(settings.keys_dir)
    assert batches.seal(db, settings.appliance_id, keys)
    return settings, db, keys, len(scanned)


def sync_until_acked(settings, db, keys, transport, rounds: int = 10) -> list[str]:
    states = []
    for _ in range(rounds):
        db.execute("UPDATE batches SET next_try_at = NULL")  # skip the back-off wait in the test
        states += [r.state for r in sync_due(db, BlobStore(settings.blob_dir), transport, keys, settings.appliance_id, 1.0)]
        if states and states[-1] == "acknowledged":
            break
    return states


@pytest.mark.parametrize("fault", ["cut_mid_upload", "reply_lost_after_commit"])
def test_retry_after_a_fault_stores_every_page_once(running, fault):
    settings, db, keys, scanned = ingest_and_seal(running)
    inner = transport_for(settings)
    flaky = FlakyTransport(
        inner, fail_put_after=3 if fault == "cut_mid_upload" else None, lose_manifest_reply=fault == "reply_lost_after_commit"
    )

    states = sync_until_acked(settings, db, keys, flaky)

    assert states[0] == "retry" and states[-1] == "acknowledged"
    assert flaky.log  # the fault really happened
    row = db.execute("SELECT state, attempts, receipt FROM batches").fetchone()
    assert row[0] == "acknowledged" and row[1] == 1 and json.loads(row[2])["signature"]
    report = json.loads(demo.juanzong("central", "report", "--home", str(running.central), "--json").stdout)
    assert report["totals"]["received_pages"] == scanned
    assert report["totals"]["duplicate_pages"] == 0
    if fault == "cut_mid_upload":
        assert flaky.puts == scanned + 1  # blobs central already had were not sent again


def test_sync_refuses_a_target_outside_the_court_networks(running):
    settings, db, keys, _ = ingest_and_seal(running)
    transport = transport_for(settings, networks=())  # no range allowed
    result = sync_due(db, BlobStore(settings.blob_dir), transport, keys, settings.appliance_id, 1.0)
    assert result[0].state == "retry" and result[0].error == "SYNC_TARGET_FORBIDDEN"
    assert db.execute("SELECT state FROM batches").fetchone()[0] == "sealed"
