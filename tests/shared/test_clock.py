"""One injectable clock: what `use()` installs is what the appliance records."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from juanzong.shared import clock

AT = datetime(2026, 3, 2, 3, 59, 59, 123000, tzinfo=UTC)


def test_use_installs_a_clock_and_restores_the_system_one():
    fixed = clock.Fixed(AT)
    with clock.use(fixed):
        assert clock.now() == AT
        assert clock.iso() == "2026-03-02T03:59:59.123+00:00"
        assert clock.now(ZoneInfo("Asia/Shanghai")).hour == 11
        fixed.advance(seconds=1)
        assert clock.iso("seconds") == "2026-03-02T04:00:00+00:00"
        with clock.use(clock.Fixed(datetime(2030, 1, 1, tzinfo=UTC))):
            assert clock.now().year == 2030
        assert clock.now().year == 2026
    assert clock.now().year >= 2026 and clock.now() != fixed()
