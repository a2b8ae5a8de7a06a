"""The two stacks central runs on, as fixtures: {SQLite + local disk} and {PostgreSQL + S3}.

The province stack is real: one PostgreSQL cluster (Debian's postgresql, run as
the `postgres` user when the tests run as root, on a private Unix socket) and
one SeaweedFS `weed mini` (S3 on 127.0.0.1) per test session, started the
first time a test asks for them and stopped at the end. Each test gets a
database and a key prefix of its own, so tests never see each other's rows or
objects. `JUANZONG_TEST_STACKS=sqlite-local` runs only the embedded stack.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from stacks import POSTGRES_S3, SQLITE_LOCAL, STACKS, Stack

from juanzong.central.labstack import PostgresLab, S3Lab, start_postgres, start_seaweedfs

_serial = itertools.count(1)


@pytest.fixture(scope="session")
def lab_root() -> Iterator[Path]:
    # under /tmp, not pytest's 0700 tree: the postgres user must be able to pass through
    root = Path(tempfile.mkdtemp(prefix="juanzong-lab-"))
    os.chmod(root, 0o711)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_lab(lab_root: Path) -> Iterator[PostgresLab]:
    lab = start_postgres(lab_root / "postgres", durable=False)
    yield lab
    lab.stop()


@pytest.fixture(scope="session")
def s3_lab(lab_root: Path) -> Iterator[S3Lab]:
    lab = start_seaweedfs(lab_root / "s3")
    yield lab
    lab.stop()


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    if request.param == SQLITE_LOCAL:
        yield Stack(SQLITE_LOCAL)
        return
    pg: PostgresLab = request.getfixturevalue("postgres_lab")
    s3: S3Lab = request.getfixturevalue("s3_lab")
    n = next(_serial)
    database = f"t{os.getpid()}_{n}"
    url = pg.create_database(database)
    yield Stack(POSTGRES_S3, {"database_url": url, **s3.settings(prefix=f"t{os.getpid()}-{n}/")}, pg, s3, database)
    pg.drop_database(database)  # FORCE: also ends connections a test left open


@pytest.fixture(params=[SQLITE_LOCAL, "postgres"] if POSTGRES_S3 in STACKS else [SQLITE_LOCAL])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of either kind."""
    if request.param == SQLITE_LOCAL:
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    pg: PostgresLab = request.getfixturevalue("postgres_lab")
    database = f"m{os.getpid()}_{next(_serial)}"
    yield pg.create_database(database)
    pg.drop_database(database)


# The fast lane (`make test-fast`) deselects these markers; a test in tests/e2e/ or a
# *_browser.py file that forgot its marker would slip into it, so collection refuses that.
_LANE_MARKERS = {"e2e": lambda path: "e2e" in path.parts, "browser": lambda path: path.stem.endswith("_browser")}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    unmarked = [
        f"{item.nodeid} (needs @pytest.mark.{marker})"
        for item in items
        for marker, applies in _LANE_MARKERS.items()
        if applies(item.path) and item.get_closest_marker(marker) is None
    ]
    if unmarked:
        raise pytest.UsageError("tests without their lane marker:\n" + "\n".join(unmarked))
