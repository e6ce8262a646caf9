#!/usr/bin/env bash
# Plans one day for a 250,000-family district with an earlier landing's code and district and with this
# tree's, side by side, ROUNDS times (bench/RESULTS.md, "Planning one day for a district").
#   git worktree add ../base 00b59ef && bench/plan_side_by_side.sh ../base
# Each run plans a fresh copy of its district (generated once into $TMPDIR), so every round is a first day.
set -euo pipefail
BASE=$(cd "${1:?usage: bench/plan_side_by_side.sh <worktree of the earlier landing>}" && pwd)
HERE=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$HERE/.venv/bin/python}
ROUNDS=${ROUNDS:-3}
FAMILIES=${FAMILIES:-250000}
TMP=${TMPDIR:-/tmp}
for v in base new; do
  tree=$HERE; [ $v = base ] && tree=$BASE
  if [ ! -f "$TMP/district-$v.orig" ]; then
    (cd "$tree" && "$PY" - "$TMP/district-$v.orig" "$FAMILIES" "$v" <<'PYEOF'
import importlib.util, sys, time
from datetime import date
from pathlib import Path
sys.path.insert(0, ".")
spec = importlib.util.spec_from_file_location("plan", "bench/plan_reminders.py")
plan = importlib.util.module_from_spec(spec)
spec.loader.exec_module(plan)
start = time.perf_counter()
counts = plan.generate(Path(sys.argv[1]), int(sys.argv[2]), date(2026, 12, 4))
print(sys.argv[3], "generated", counts, f"in {time.perf_counter() - start:.0f} s")
PYEOF
    )
  fi
done
for i in $(seq 1 "$ROUNDS"); do
  for v in base new; do
    tree=$HERE; [ $v = base ] && tree=$BASE
    rm -f "$TMP/district-$v.sqlite3"*
    cp "$TMP/district-$v.orig" "$TMP/district-$v.sqlite3"
    echo "== round $i: $v"
    (cd "$tree" && "$PY" bench/plan_reminders.py --families "$FAMILIES" --keep --db "$TMP/district-$v.sqlite3")
  done
done
