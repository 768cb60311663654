#!/usr/bin/env bash
# Which Lambda memory size? Lambda gives a function CPU in proportion to its memory (1,769 MB =
# one vCPU), so each size is emulated with a container limited to that share of a CPU and that
# memory. Runs the prod bundle (Redis path) RUNS times per size in a fresh node:24 container:
# cold start (process start to first answer), warm p50/p99 of the handler, and RSS.
# Needs Docker and redis-server. Usage: bash bench/lambda-memory.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
port=6399
work=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes --pidfile "$work/redis.pid" >/dev/null
trap 'kill "$(cat "$work/redis.pid")" 2>/dev/null; rm -rf "$work"' EXIT

rm -rf .esbuild
node_modules/.bin/sls package --stage prod --package "$work/package" >/dev/null
unzip -q "$work/package/helloAgain.zip" -d "$work/bundle"
cp bench/invoke-bundle.cjs "$work/bundle/"
redis-cli -p "$port" set hello:count 1 PX 3600000 >/dev/null

echo "memory_mb cpus run cold_start_ms first_answer_ms warm_p50_ms warm_p99_ms rss_mb"
for memory in 128 256 512 1024; do
  cpus=$(awk -v m="$memory" 'BEGIN { printf "%.3f", m / 1769 }')
  for run in $(seq 1 "$runs"); do
    line=$(docker run --rm --network host --cpus "$cpus" --memory "${memory}m" -v "$work/bundle:/var/task:ro" \
      -e COUNTER_STORE=redis -e "REDIS_URL=redis://127.0.0.1:$port" -e POWERTOOLS_LOG_LEVEL=INFO \
      node:24-bookworm-slim node /var/task/invoke-bundle.cjs /var/task/functions/hello-again.mjs 2>/dev/null | tail -1)
    node -e '
      const r = JSON.parse(process.argv[1]);
      console.log([process.argv[2], process.argv[3], process.argv[4], r.processStartToFirstAnswerMs, r.firstAnswerMs, r.warmP50Ms, r.warmP99Ms, r.rssMb].join(" "));
    ' "$line" "$memory" "$cpus" "$run"
  done
done
