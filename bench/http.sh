#!/usr/bin/env bash
# HTTP benchmark on loopback: the same trivial route served by bare axum,
# axum + tollgate (RS256, cached and uncached), axum + a hand-written
# token cache layer, axum + a layer that only hands the handler a fixed
# value through the extensions (the floor), axum + a hand-written
# jsonwebtoken layer, jwt-authorizer, bare actix-web, actix-web + tollgate and
# actix-web + actix-web-httpauth + jsonwebtoken. Interleaved rounds; the
# server is pinned to core 0 and wrk to core 1. Bounded: ROUNDS x servers x
# DURATION seconds. Prints requests/s (median over rounds), p50/p99 and the
# ratio to the bare server of the same framework.
#
#   bash bench/http.sh            # ROUNDS=3 DURATION=5 CONNECTIONS=32 (MODES="..." to pick servers)
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-3290}

if ! command -v wrk >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

cargo build -q --release --example bench_server --features actix
(cd bench/jwt-authorizer-server && CARGO_TARGET_DIR=../../target/jwt-authorizer cargo build -q --release)
SERVER=target/release/examples/bench_server
JWTA=target/jwt-authorizer/release/jwt-authorizer-server
TOKEN=$($SERVER mint)
PIN_SERVER="taskset -c 0"
PIN_WRK="taskset -c 1"
if ! taskset -c 0 true 2>/dev/null; then PIN_SERVER=""; PIN_WRK=""; fi

MODES=${MODES:-"axum-bare axum-tollgate axum-tollgate-outer axum-handcache axum-extension-only axum-extension-only-per-route axum-tollgate-uncached axum-jsonwebtoken jwt-authorizer actix-bare actix-tollgate actix-httpauth"}
OUT=$(mktemp -d)

start_server() {
  local mode=$1
  if [ "$mode" = jwt-authorizer ]; then
    $PIN_SERVER "$JWTA" "$PORT" tests/keys/rsa.pub.pem >"$OUT/server.log" 2>&1 &
  else
    $PIN_SERVER "$SERVER" "$mode" "$PORT" >"$OUT/server.log" 2>&1 &
  fi
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    grep -q "listening on" "$OUT/server.log" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "server $mode did not start" >&2; cat "$OUT/server.log" >&2; return 1
}

for round in $(seq 1 "$ROUNDS"); do
  for mode in $MODES; do
    start_server "$mode"
    # Check the route answers 200 with the token before measuring.
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/")
    [ "$code" = 200 ] || { echo "$mode answered $code" >&2; kill "$SERVER_PID"; exit 1; }
    $PIN_WRK wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency \
      -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/" >"$OUT/$mode.$round" 2>&1 || true
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  done
done

python3 - "$OUT" "$ROUNDS" $MODES <<'PY'
import re, statistics, sys
out, rounds, modes = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def unit(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    n, u = float(m.group(1)), m.group(2)
    return n * {"us": 1e-3, "ms": 1, "s": 1e3}[u]
res = {}
for mode in modes:
    rps, p50, p99 = [], [], []
    for r in range(1, rounds + 1):
        text = open(f"{out}/{mode}.{r}").read()
        m = re.search(r"Requests/sec:\s+([\d.]+)", text)
        if not m:
            continue
        rps.append(float(m.group(1)))
        p50.append(unit(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1)))
        p99.append(unit(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1)))
    res[mode] = (statistics.median(rps), statistics.median(p50), statistics.median(p99), rps)
print(f"| server | req/s (median of {rounds}) | p50 ms | p99 ms | vs bare |")
print("|---|---|---|---|---|")
for mode in modes:
    rps, p50, p99, _ = res[mode]
    bare = res["actix-bare" if mode.startswith("actix") else "axum-bare"][0]
    print(f"| {mode} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {rps / bare:.0%} |")
# Each round runs every server once, back to back: the ratio of a server to
# its bare one within a round shares that round's machine state, so the
# median of those ratios is steadier than the ratio of medians.
print(f"\n| server | median of per-round ratios to bare (of {rounds}) |")
print("|---|---|")
for mode in modes:
    bare = "actix-bare" if mode.startswith("actix") else "axum-bare"
    if mode == bare or bare not in res:
        continue
    mine, base = res[mode][3], res[bare][3]
    ratios = [m / b for m, b in zip(mine, base)]
    print(f"| {mode} | {statistics.median(ratios):.0%} |")
if all(m in res for m in ("axum-tollgate", "axum-tollgate-uncached", "jwt-authorizer", "axum-bare")):
    t, u, j = res["axum-tollgate"][0], res["axum-tollgate-uncached"][0], res["jwt-authorizer"][0]
    print(f"\nuncached tollgate / jwt-authorizer = {u / j:.2f}x; cached tollgate / bare axum = {t / res['axum-bare'][0]:.0%}")
PY
