"""The two crypto suites: known answers, round trips, and what a reader refuses."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from juanzong.shared import crypto, suites
from juanzong.shared.errors import AppError, ErrorCode
from juanzong.shared.suites import Suite

KEK = bytes(range(32))
APPLIANCE = "ABCDEFGH2"


def test_sm3_and_sm4_gcm_give_the_published_answers():
    # GB/T 32905 example 1; RFC 8998 appendix A.1 (SM4-GCM)
    assert suites.sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    nonce = bytes.fromhex("00001234567800000000ABCD")
    aad = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
    plain = bytes.fromhex(
        "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDDEEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"
    )
    out = suites.aead_encrypt(Suite.SM, key, nonce, plain, aad)
    assert out[:-16].hex().upper() == (
        "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
    )
    assert out[-16:].hex().upper() == "83DE3541E4C2B58177E065A9BF7B62EC"
    assert suites.aead_decrypt(Suite.SM, key, nonce, out, aad) == plain
    assert len(suites.mac(Suite.SM, b"k", b"x")) == 32 and suites.mac(Suite.SM, b"k", b"x") != suites.mac(Suite.AES, b"k", b"x")


@pytest.mark.parametrize("suite", list(Suite))
def test_each_suite_round_trips_locally_and_at_central(suite):
    central = X25519PrivateKey.generate()
    plain = b"\xff\xd8 a page " * 1000
    sealed = crypto.seal_blob(
        plain, appliance_id=APPLIANCE, blob_id="P1", kind="page", kek=KEK, central_public=central.public_key(), suite=suite
    )
    assert sealed.suite is suite and sealed.data[:4] == suites.SPECS[suite].magic
    assert (sealed.sm3 is not None) == (suite is Suite.SM)
    assert crypto.open_blob_local(sealed.data, sealed.wrapped_local, kek=KEK, appliance_id=APPLIANCE, blob_id="P1", kind="page") == plain
    assert (
        crypto.open_blob_central(sealed.data, sealed.sealed_central, private_key=central, appliance_id=APPLIANCE, blob_id="P1", kind="page")
        == plain
    )


@pytest.mark.parametrize("suite", list(Suite))
def test_a_relabelled_moved_or_altered_blob_does_not_open(suite):
    central = X25519PrivateKey.generate()
    sealed = crypto.seal_blob(
        b"page bytes", appliance_id=APPLIANCE, blob_id="P1", kind="page", kek=KEK, central_public=central.public_key(), suite=suite
    )
    other = Suite.AES if suite is Suite.SM else Suite.SM
    relabelled = suites.SPECS[other].magic + sealed.data[4:]
    flipped = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    for data, blob_id in ((relabelled, "P1"), (flipped, "P1"), (sealed.data, "P2")):
        with pytest.raises(AppError) as err:
            crypto.open_blob_central(data, sealed.sealed_central, private_key=central, appliance_id=APPLIANCE, blob_id=blob_id, kind="page")
        assert err.value.code == ErrorCode.DECRYPT_FAILED
    with pytest.raises(AppError):
        crypto.open_blob_local(sealed.data, sealed.wrapped_local, kek=bytes(32), appliance_id=APPLIANCE, blob_id="P1", kind="page")


@pytest.mark.parametrize("suite", list(Suite))
def test_rewrap_moves_a_blob_to_a_new_kek_and_the_old_kek_no_longer_opens_the_new_wrap(suite):
    central = X25519PrivateKey.generate()
    sealed = crypto.seal_blob(
        b"page", appliance_id=APPLIANCE, blob_id="P1", kind="page", kek=KEK, central_public=central.public_key(), suite=suite
    )
    new_kek = crypto.new_kek()
    wrap = crypto.rewrap_local(
        sealed.data, sealed.wrapped_local, old_kek=KEK, new_kek=new_kek, appliance_id=APPLIANCE, blob_id="P1", kind="page"
    )
    assert crypto.open_blob_local(sealed.data, wrap, kek=new_kek, appliance_id=APPLIANCE, blob_id="P1", kind="page") == b"page"
    with pytest.raises(AppError):
        crypto.open_blob_local(sealed.data, wrap, kek=KEK, appliance_id=APPLIANCE, blob_id="P1", kind="page")


def test_the_blob_reference_must_carry_sm3_exactly_for_the_sm_suite():
    from juanzong.shared.manifest import BlobKind, BlobRef

    sha = "a" * 64
    BlobRef(sha256=sha, size=1, kind=BlobKind.PAGE, sealed_key="AA==")
    BlobRef(sha256=sha, size=1, kind=BlobKind.PAGE, sealed_key="AA==", suite=Suite.SM, sm3="b" * 64)
    for bad in ({"suite": Suite.SM}, {"sm3": "b" * 64}):
        with pytest.raises(ValueError):
            BlobRef(sha256=sha, size=1, kind=BlobKind.PAGE, sealed_key="AA==", **bad)
