#!/usr/bin/env bash
# Throughput of GET /hello/again on servers already running, measured in turn (A B C A B C ...) so
# that a machine whose speed drifts affects each alike: wrk -t2 -c10, one GET /hello before each
# round (the window is 30 s: rounds are shorter). Prints req/s per round and each server's mean as
# a ratio to the first's.
#   bash bench/alternate.sh [-r ROUNDS] [-d SECONDS] NAME=URL NAME=URL ...
#   e.g. bash bench/alternate.sh main=http://127.0.0.1:8000 django=http://127.0.0.1:28000
set -euo pipefail
rounds=3 seconds=8
while getopts r:d: option; do
  case $option in
    r) rounds=$OPTARG ;;
    d) seconds=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: $0 [-r ROUNDS] [-d SECONDS] NAME=URL ..." >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

declare -A total
for target in "$@"; do total[${target%%=*}]=0; done
echo "node $(node -v), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ); wrk -t2 -c10 -d${seconds}s, $rounds rounds"
for round in $(seq "$rounds"); do
  for target in "$@"; do
    name=${target%%=*} url=${target#*=}
    first=$(curl -sS "$url/hello")
    [ "$first" = "Hello ELECLE 1" ] || { echo "$name: GET /hello answered '$first'" >&2; exit 1; }
    out=$(wrk -t2 -c10 -d"${seconds}s" "$url/hello/again")
    rps=$(awk '/^Requests\/sec/ { printf "%.0f", $2 }' <<<"$out")
    bad=$(awk '/Non-2xx|Socket errors/' <<<"$out")
    echo "round $round  $name  $rps req/s${bad:+  ($bad)}"
    total[$name]=$((total[$name] + rps))
  done
done
base=${1%%=*}
for target in "$@"; do
  name=${target%%=*}
  awk -v n="$name" -v t="${total[$name]}" -v b="${total[$base]}" -v r="$rounds" \
    'BEGIN { printf "%-12s mean %6.0f req/s  %.2fx %s\n", n, t / r, t / b, "'"$base"'" }'
done
