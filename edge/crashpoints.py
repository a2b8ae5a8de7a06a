"""Named crash points for the crash-safety tests.

`JUANZONG_CRASH_AT=<step>[:<n>]` makes the process die with `os._exit(137)`
(no cleanup, like `kill -9` or a power cut) the n-th time (default: first) it
reaches that step. Production never sets the variable; reading it costs one
dict lookup per step.
"""

from __future__ import annotations

import os

STEPS = ("hash", "encrypt", "write", "fsync", "rename", "dir_fsync", "commit", "remove_source")
_seen: dict[str, int] = {}


def crash_point(step: str) -> None:
    spec = os.environ.get("JUANZONG_CRASH_AT")
    if not spec:
        return
    name, _, nth = spec.partition(":")
    if name != step:
        return
    _seen[step] = _seen.get(step, 0) + 1
    if _seen[step] >= int(nth or 1):
        os._exit(137)
