"""The appliance's files on disk: data/ and keys/ 0700, its databases 0600 (issue 8, point 8).

Checked under a permissive umask (022, what a login shell has): nothing the
appliance writes may be readable by another account, and a home whose modes
were loosened is tightened again at the next start.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest
from edge_kit import make_home


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_new_home_is_owner_only(tmp_path, central_keys, umask_022):
    from juanzong.edge.config import load_settings

    settings = load_settings(make_home(tmp_path, central_keys))
    assert mode(settings.data_dir) == 0o700 and mode(settings.keys_dir) == 0o700
    dbs = sorted(settings.data_dir.glob("*.db*"))
    assert dbs and all(mode(p) == 0o600 for p in dbs), [(p.name, oct(mode(p))) for p in dbs]
    assert all(mode(p) == 0o600 for p in settings.keys_dir.glob("*.key"))  # secrets; central-identity.json is public


def test_a_loosened_home_is_tightened_at_the_next_start(tmp_path, central_keys, umask_022):
    from juanzong.edge.config import load_settings

    settings = load_settings(make_home(tmp_path, central_keys))
    os.chmod(settings.data_dir, 0o755)
    os.chmod(settings.keys_dir, 0o755)
    os.chmod(settings.db_path, 0o644)
    env = {**os.environ, "JUANZONG_HOME": str(settings.home)}
    run = subprocess.run(
        [sys.executable, "-P", "-m", "juanzong.shared.cli", "edge", "status", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert (mode(settings.data_dir), mode(settings.keys_dir), mode(settings.db_path)) == (0o700, 0o700, 0o600)
    assert all(mode(p) == 0o600 for p in settings.data_dir.glob("edge.db*"))
