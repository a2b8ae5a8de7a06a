#!/usr/bin/env bash
# Run a command as if the wall clock read DATE (Asia/Shanghai), e.g.
#   scripts/at-time.sh "2026-12-31 13:00" make demo
#   scripts/at-time.sh "2027-01-05 10:00" .venv/bin/python -m pytest -q -m "not slow"
# The clock then runs on from DATE; monotonic time and sleeps are untouched. A test tool only:
# it shows that the demo and the tests do not depend on today's date (holiday data, deadlines).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 'YYYY-MM-DD HH:MM' command ..." >&2; exit 2; }
here="$(cd "$(dirname "$0")" && pwd)"
lib="${TMPDIR:-/tmp}/jz-clockshift-$(id -u).so"
if [ ! -f "$lib" ] || [ "$here/clockshift/clockshift.c" -nt "$lib" ]; then
  cc -shared -fPIC -O2 -o "$lib.tmp" "$here/clockshift/clockshift.c" -ldl && mv "$lib.tmp" "$lib"
fi
target=$(TZ=Asia/Shanghai date -d "$1" +%s)
shift
export JZ_CLOCK_OFFSET=$(( target - $(date +%s) ))
export LD_PRELOAD="$lib${LD_PRELOAD:+:$LD_PRELOAD}"
exec "$@"
