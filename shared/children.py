"""Child processes that never outlive the process that started them.

`edge run` starts the documents worker and `central serve` the office listener. If the
parent dies, even by kill -9, the kernel kills the child (PR_SET_PDEATHSIG): an orphaned
OCR worker would race the next start's blob sweep, an orphaned office listener would keep
its port so the next `central serve` could not bind it."""

from __future__ import annotations

import ctypes
import os
import signal
from collections.abc import Callable

PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True)  # loaded before fork: the child only calls into it


def bound_to_parent() -> Callable[[], None]:
    """A `preexec_fn` for subprocess.Popen: runs in the child between fork and exec."""
    parent = os.getpid()

    def bind() -> None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(0)

    return bind
