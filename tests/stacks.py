"""What a test gets from the `stack` fixture (tests/conftest.py): the central settings of its stack."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from juanzong.central.labstack import PostgresLab, S3Lab

SQLITE_LOCAL, POSTGRES_S3 = "sqlite-local", "postgres-s3"
STACKS = [s for s in os.environ.get("JUANZONG_TEST_STACKS", f"{SQLITE_LOCAL},{POSTGRES_S3}").split(",") if s]


@dataclass
class Stack:
    """One test's share of a stack: the central settings that point at it."""

    name: str
    settings: dict[str, Any] = field(default_factory=dict)  # extra settings for `central init`
    pg: PostgresLab | None = None
    s3: S3Lab | None = None
    database: str = ""

    @property
    def province(self) -> bool:
        return self.name == POSTGRES_S3

    def init_args(self) -> list[str]:
        """The same settings as `central init` options."""
        return [arg for k, v in self.settings.items() for arg in ("--" + k.replace("_", "-"), str(v))]
