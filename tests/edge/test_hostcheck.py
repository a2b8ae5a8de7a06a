"""Plaintext only on a RAM filesystem where the profile requires it."""

from __future__ import annotations

from pathlib import Path

import pytest

from juanzong.edge.hostcheck import filesystem_type, require_ram_hot_folder
from juanzong.shared.errors import AppError, ErrorCode


def test_mount_table_lookup_takes_the_longest_mount_point(tmp_path: Path):
    mounts = tmp_path / "mounts"
    mounts.write_text("/dev/vda / ext4 rw 0 0\ntmpfs /run/juanzong tmpfs rw 0 0\n")
    assert filesystem_type(Path("/run/juanzong/hot"), mounts) == "tmpfs"
    assert filesystem_type(Path("/run/juanzongx"), mounts) == "ext4"
    assert filesystem_type(Path("/var/lib"), mounts) == "ext4"


def test_a_disk_hot_folder_is_refused_when_the_profile_requires_tmpfs(tmp_path: Path):
    if filesystem_type(tmp_path) in ("tmpfs", "ramfs"):
        pytest.skip("tmp_path is itself on tmpfs here")
    with pytest.raises(AppError) as err:
        require_ram_hot_folder(tmp_path, required=True)
    assert err.value.code is ErrorCode.HOT_FOLDER_NOT_RAM and "tmpfs" in err.value.message
    require_ram_hot_folder(tmp_path, required=False)  # the simulated scanner may use disk


def test_dev_shm_is_accepted():
    shm = Path("/dev/shm")
    if filesystem_type(shm) != "tmpfs":
        pytest.skip("no tmpfs at /dev/shm on this machine")
    require_ram_hot_folder(shm, required=True)


def test_swap_in_use_is_refused_where_plaintext_must_stay_in_ram(tmp_path: Path):
    from juanzong.edge.hostcheck import active_swaps, require_no_swap

    swaps = tmp_path / "swaps"
    swaps.write_text("Filename\tType\tSize\tUsed\tPriority\n/dev/vda2 partition 1048572 0 -2\n")
    assert active_swaps(swaps) == ["/dev/vda2"]
    with pytest.raises(AppError) as err:
        require_no_swap(True, swaps)
    assert err.value.code is ErrorCode.SWAP_ENABLED and "/dev/vda2" in err.value.message
    require_no_swap(False, swaps)
    swaps.write_text("Filename\tType\tSize\tUsed\tPriority\n")
    require_no_swap(True, swaps)
