#!/usr/bin/env bash
# The cold burst, repeated: N times, a fresh `docker compose up --wait` (built image, new
# containers, empty Redis), one GET /hello, then 1,000 concurrent GET /hello/again that must return
# exactly 2..1001 (no 503), then `down -v`. Prints each stack's result and the tally.
#   bash test/compose/cold-burst.sh [N] [BUSY]     N stacks (50); BUSY CPU-bound loops beside it (0),
#                                                  as on a laptop that is doing something else
set -uo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-50} busy=${2:-0}
compose=(docker compose --project-name elecle-hello-cold-burst)
base=http://127.0.0.1:8000
busy_pids=()
cleanup() {
  for pid in "${busy_pids[@]}"; do kill "$pid" 2>/dev/null; done
  "${compose[@]}" down -v --timeout 10 >/dev/null 2>&1
}
trap cleanup EXIT

"${compose[@]}" build --quiet app || exit 1
for _ in $(seq "$busy"); do
  node -e 'for (;;) {}' &
  busy_pids+=($!)
done
exact=0
for run in $(seq "$runs"); do
  if ! "${compose[@]}" up -d --wait --wait-timeout 180 >/dev/null 2>&1; then
    result="the stack did not become healthy"
  elif [ "$(curl -sS --max-time 5 "$base/hello")" != "Hello ELECLE 1" ]; then
    result="GET /hello did not answer Hello ELECLE 1"
  else
    result=$(node test/compose/burst.mjs "$base/hello/again")
  fi
  [ "$result" == "2..1001 once each" ] && exact=$((exact + 1))
  echo "stack $run: $result"
  "${compose[@]}" down -v --timeout 10 >/dev/null 2>&1
done
echo "$exact of $runs fresh stacks answered the cold burst exactly (2..1001, no 503), with $busy busy loops beside"
[ "$exact" -eq "$runs" ]
