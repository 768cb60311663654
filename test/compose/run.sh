#!/usr/bin/env bash
# `docker compose up` tested for real: build and start the stack, drive it from the host on
# 127.0.0.1:8000 as a browser would, check that the Redis container holds the count, stop and
# freeze Redis under it, and measure how long stopping takes. Always removes the stack (and its
# volumes) at the end.
set -uo pipefail
cd "$(dirname "$0")/../.."

# A project name of its own, so the test never touches a stack the user is running from this folder.
compose=(docker compose --project-name elecle-hello-compose-test)
base=http://127.0.0.1:8000
passed=0
failed=0

check() { # check NAME EXPECTED ACTUAL
  if [ "$2" == "$3" ]; then
    passed=$((passed + 1))
    echo "ok   $1"
  else
    failed=$((failed + 1))
    echo "FAIL $1: expected [$2], got [$3]"
  fi
}

# The edit-and-see check changes lib/hello.ts: put it back whatever happens.
greeting_backup=$(mktemp)
cp lib/hello.ts "$greeting_backup"
watch_pid=
watch_log=
cleanup() {
  [ -n "$watch_pid" ] && kill "$watch_pid" 2>/dev/null
  cp "$greeting_backup" lib/hello.ts && rm -f "$greeting_backup" "${watch_log:-}"
  "${compose[@]}" down -v --timeout 10 >/dev/null 2>&1
}
trap cleanup EXIT

if ! "${compose[@]}" up -d --build --wait --wait-timeout 180; then
  "${compose[@]}" logs --no-color | tail -50
  echo "0 passed, 1 failed"
  exit 1
fi

body() { curl -sS --max-time 5 "$base$1"; }
redis() { "${compose[@]}" exec -T redis redis-cli "$@" | tr -d '\r'; }

# Edit and see: `docker compose watch` copies the edit in, serverless-esbuild rebuilds, and the next
# request runs the new code, with no restart. The restore matters: compose writes a file in two
# steps, and a build of the emptied file once left every /hello answering 500 (serverless.yml).
watch_log=$(mktemp)
"${compose[@]}" watch >"$watch_log" 2>&1 &
watch_pid=$!
# It builds the image first (cached by now), then prints "Watch enabled".
for _ in $(seq 1 240); do grep -q 'Watch enabled' "$watch_log" && break; sleep 0.5; done
app_before=$("${compose[@]}" ps -q app)
sed -i 's/Hello ELECLE \${count}/Hi ELECLE ${count}/' lib/hello.ts
started=$(date +%s%N)
for _ in $(seq 1 100); do [ "$(body /hello)" == "Hi ELECLE 1" ] && break; sleep 0.1; done
seen_ms=$(( ($(date +%s%N) - started) / 1000000 ))
check "an edit of lib/hello.ts is served within 5 s (compose watch)" "Hi ELECLE 1 yes" \
  "$(body /hello) $([ "$seen_ms" -lt 5000 ] && echo yes || echo "no (${seen_ms} ms)")"
echo "     the edit was served after ${seen_ms} ms"
cp "$greeting_backup" lib/hello.ts
for _ in $(seq 1 100); do [ "$(body /hello)" == "Hello ELECLE 1" ] && break; sleep 0.1; done
check "... and the restored file too" "Hello ELECLE 1" "$(body /hello)"
check "... by the same container (no restart)" "$app_before" "$("${compose[@]}" ps -q app)"
kill "$watch_pid" 2>/dev/null
wait "$watch_pid" 2>/dev/null
watch_pid=

# A burst on the fresh stack. Every function was loaded and connected before the app listened (the
# init phase); a per-command timer once turned such a burst into hundreds of 503s for increments
# Redis had made. bash test/compose/cold-burst.sh repeats this on fresh stacks.
check "GET /hello on the fresh stack" "Hello ELECLE 1" "$(body /hello)"
burst=$(node test/compose/burst.mjs "$base/hello/again")
check "1,000 concurrent /hello/again return 2..1001 exactly once, no 503" "2..1001 once each" "$burst"
redis DEL hello:count >/dev/null
check "GET /hello/again before any /hello" "Expired!" "$(body /hello/again)"
check "GET /hello" "Hello ELECLE 1" "$(body /hello)"
check "GET /hello/again" "Hello ELECLE 2" "$(body /hello/again)"
check "GET /hello/again again" "Hello ELECLE 3" "$(body /hello/again)"
check "Redis holds the count" "3" "$(redis GET hello:count)"
ttl=$(redis PTTL hello:count)
check "the count expires within the window" "yes" "$([ "$ttl" -gt 0 ] && [ "$ttl" -le 30000 ] && echo yes || echo "no ($ttl)")"
headers=$(curl -sS -D - -o /dev/null --max-time 5 "$base/hello" | tr -d '\r' | tr 'A-Z' 'a-z')
check "content-type header" "content-type: text/plain; charset=utf-8" "$(grep '^content-type:' <<<"$headers")"
check "cache-control header" "cache-control: no-store" "$(grep '^cache-control:' <<<"$headers")"
check "an unknown path is a 404" "404" "$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 "$base/nope")"
check "the healthcheck did not count" "2" "$(sleep 3; body /hello/again | sed 's/Hello ELECLE //')"
check "Redis is not published to the host" "" "$(docker port "$("${compose[@]}" ps -q redis)")"
check "the app is published on 127.0.0.1 only" "8000/tcp -> 127.0.0.1:8000" "$(docker port "$("${compose[@]}" ps -q app)")"
check "the app runs as the image's unprivileged user" "1000" "$("${compose[@]}" exec -T app id -u | tr -d '\r')"
check "the app cannot change its own code" "refused" \
  "$("${compose[@]}" exec -T app sh -c 'touch /app/lib/config.ts /app/node_modules/x 2>/dev/null && echo written || echo refused' | tr -d '\r')"
cors=$(curl -sS -D - -o /dev/null --max-time 5 -H 'Origin: http://cafe.example' "$base/hello" | tr -d '\r' | tr 'A-Z' 'a-z')
check "no CORS headers for another origin" "" "$(grep '^access-control-' <<<"$cors")"
check "a CORS preflight is a 404, as in API Gateway" "404" \
  "$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -X OPTIONS -H 'Origin: http://cafe.example' -H 'Access-Control-Request-Method: GET' "$base/hello")"

# Redis pulled away and given back, as a user would try it: no app restart in between.
timed() { curl -sS -o /dev/null -w '%{http_code} %{time_total}' --max-time 5 "$base$1"; }
within() { awk -v t="$2" -v limit="$1" 'BEGIN { print (t < limit ? "yes" : "no (" t " s)") }'; }
"${compose[@]}" stop redis >/dev/null 2>&1
read -r code seconds <<<"$(timed /hello/again)"
check "Redis stopped: /hello/again is a 503" "503" "$code"
check "Redis stopped: ... within 1 s" "yes" "$(within 1 "$seconds")"
check "Redis stopped: /health is a 503" "503" "$(timed /health | cut -d' ' -f1)"
"${compose[@]}" start redis >/dev/null 2>&1
for _ in $(seq 1 100); do [ "$(body /hello)" == "Hello ELECLE 1" ] && break; sleep 0.1; done
check "Redis back: /hello answers again within 10 s" "Hello ELECLE 1" "$(body /hello)"
"${compose[@]}" pause redis >/dev/null 2>&1
read -r code seconds <<<"$(timed /hello/again)"
"${compose[@]}" unpause redis >/dev/null 2>&1
check "Redis frozen: /hello/again is a 503" "503" "$code"
check "Redis frozen: ... within 2 s" "yes" "$(within 2 "$seconds")"


started=$(date +%s%N)
"${compose[@]}" stop --timeout 10 >/dev/null 2>&1
stop_ms=$(( ($(date +%s%N) - started) / 1000000 ))
echo "     stopping the stack took ${stop_ms} ms"
check "the stack stops within 3 s (SIGTERM reaches serverless-offline)" "yes" "$([ "$stop_ms" -lt 3000 ] && echo yes || echo "no (${stop_ms} ms)")"
check "serverless-offline exited cleanly" "0" "$(docker inspect --format '{{.State.ExitCode}}' "$("${compose[@]}" ps -aq app)")"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
