"""Kit set-up hashes each test PIN or password once per session, not once per test.

argon2id is slow on purpose (~0.2 s and four threads a hash): a kit that creates three
operators for every kiosk test spent most of its time hashing the same three PINs. While
a kit sets up, the module's hasher is wrapped: the first hash of a secret is computed by
the real argon2id hasher, later ones get that same (equally real, salted) hash back.
Verification, rehash checks and every hash a test itself causes (a PIN change, a new
operator made at the kiosk) go to the real hasher untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

_DONE: dict[tuple[str, str], str] = {}


class _OnceHasher:
    def __init__(self, real: Any, where: str) -> None:
        self._real, self._where = real, where

    def hash(self, secret: str) -> str:
        key = (self._where, secret)
        if key not in _DONE:
            _DONE[key] = self._real.hash(secret)
        return _DONE[key]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@contextmanager
def hashed_once(module: ModuleType, attr: str) -> Iterator[None]:
    real = getattr(module, attr)
    setattr(module, attr, _OnceHasher(real, module.__name__))
    try:
        yield
    finally:
        setattr(module, attr, real)
