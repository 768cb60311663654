#!/usr/bin/env bash
# How long `docker compose watch` takes from saving lib/hello.ts to the next request running it:
# EDITS times an edit, then its undo, each timed until /hello answers with it. Runs its own stack
# (project elecle-hello-watch-bench, port 8100) and removes it, and puts the file back, at the end.
# Needs Docker. Usage: bash bench/compose-watch.sh [EDITS]
set -euo pipefail
cd "$(dirname "$0")/.."
edits=${1:-8}
export HELLO_PORT=8100
compose=(docker compose --project-name elecle-hello-watch-bench)
original=$(mktemp)
watch_log=$(mktemp)
cp lib/hello.ts "$original"
watch_pid=
cleanup() {
  [ -n "$watch_pid" ] && kill "$watch_pid" 2>/dev/null
  cp "$original" lib/hello.ts
  rm -f "$original" "$watch_log"
  "${compose[@]}" down -v --timeout 10 >/dev/null 2>&1
}
trap cleanup EXIT

if ! "${compose[@]}" up -d --build --wait --wait-timeout 180 >"$watch_log" 2>&1; then
  cat "$watch_log"
  exit 1
fi
"${compose[@]}" watch >"$watch_log" 2>&1 &
watch_pid=$!
for _ in $(seq 1 240); do grep -q 'Watch enabled' "$watch_log" && break; sleep 0.5; done

body() { curl -sS --max-time 5 "http://127.0.0.1:$HELLO_PORT/hello"; }
# Prints how many ms passed until /hello answered $1 (polling every 50 ms), or FAIL after 10 s.
ms_until() {
  local started
  started=$(date +%s%N)
  for _ in $(seq 1 200); do
    if [ "$(body)" == "$1" ]; then
      echo $((($(date +%s%N) - started) / 1000000))
      return
    fi
    sleep 0.05
  done
  echo "FAIL($(body))"
}

times=()
for _ in $(seq 1 "$edits"); do
  sed -i 's/Hello ELECLE \${count}/Hi ELECLE ${count}/' lib/hello.ts
  times+=("$(ms_until 'Hi ELECLE 1')")
  sleep 1
  cp "$original" lib/hello.ts
  times+=("$(ms_until 'Hello ELECLE 1')")
  sleep 1
done
echo "ms from save to served: ${times[*]}"
printf '%s\n' "${times[@]}" | grep -v FAIL | sort -n |
  awk '{ ms[NR] = $1 } END { print NR " served: min " ms[1] " ms, median " ms[int((NR + 1) / 2)] " ms, max " ms[NR] " ms" }'
if printf '%s\n' "${times[@]}" | grep -q FAIL; then exit 1; fi
