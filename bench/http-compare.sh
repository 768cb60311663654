#!/usr/bin/env bash
# Throughput through serverless-offline as `npm start` serves it (in-process, Redis), side by side
# with another commit of this repository and/or a peer service, measured in turn by
# bench/alternate.sh. Each server's output goes through a pipe, as to a terminal or `docker logs`.
#   bash bench/http-compare.sh [--ref COMMIT] [--peer URL] [-r ROUNDS] [-d SECONDS]
#   e.g. bash bench/http-compare.sh --ref 335c59a --peer http://127.0.0.1:28000
# Runs on this checkout's Node (npm ci's Node 24 when it brought one): both commits on the same Node.
set -euo pipefail
cd "$(dirname "$0")/.."
ref='' peer='' rounds=3 seconds=8
while [ $# -gt 0 ]; do
  case $1 in
    --ref) ref=$2; shift 2 ;;
    --peer) peer=$2; shift 2 ;;
    -r) rounds=$2; shift 2 ;;
    -d) seconds=$2; shift 2 ;;
    *) echo "usage: $0 [--ref COMMIT] [--peer URL] [-r ROUNDS] [-d SECONDS]" >&2; exit 2 ;;
  esac
done
export PATH="$PWD/node_modules/.bin:$PATH"
state=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -z "$ref" ] || git worktree remove --force "$state/ref" 2>/dev/null || true
  rm -rf "$state"
}
trap cleanup EXIT

redis_port=26500
redis-server --port "$redis_port" --save '' --appendonly no --daemonize no --logfile "$state/redis.log" &
pids+=($!)

# serve NAME FOLDER HTTP_PORT DATABASE: sls offline in FOLDER, counting in its own Redis database;
# its output through a pipe to a log that is printed if it does not start.
serve() {
  (cd "$2" && REDIS_URL="redis://127.0.0.1:$redis_port/$4" setsid node node_modules/.bin/sls offline start \
    --stage local --httpPort "$3" --lambdaPort $(($3 + 2)) 2>&1 | cat >"$state/$3.log") &
  for _ in $(seq 240); do
    [ "$(curl -s "http://127.0.0.1:$3/hello/again")" == "Expired!" ] && break
    sleep 0.5
  done
  pids+=("$(pgrep -f -- "--httpPort $3 ")")
  [ "$(curl -s "http://127.0.0.1:$3/hello/again")" == "Expired!" ] && return 0
  echo "$1 did not start on port $3:" >&2
  tail -20 "$state/$3.log" >&2
  exit 1
}

targets=("$(git rev-parse --short HEAD)=http://127.0.0.1:18000")
serve this . 18000 0
if [ -n "$ref" ]; then
  git worktree add --detach "$state/ref" "$ref" >/dev/null 2>&1
  (cd "$state/ref" && npm ci --no-audit --no-fund >/dev/null 2>&1)
  serve "$ref" "$state/ref" 18100 1
  targets+=("$ref=http://127.0.0.1:18100")
fi
[ -z "$peer" ] || targets+=("peer=$peer")
bash bench/alternate.sh -r "$rounds" -d "$seconds" "${targets[@]}"
