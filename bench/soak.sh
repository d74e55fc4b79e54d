#!/usr/bin/env bash
# Fault soak and floods, on loopback only, bounded in time.
#
# Soak: two release `shop` instances on their own redis-server (append-only
# file, so a restart keeps the data): A is the issuer, B serves the traffic
# and verifies with A's JWKS over HTTP. wrk sends mixed traffic to B (access
# tokens, access + customer token pairs, Redis session lookups, client-
# credentials token calls) in ten phases of PHASE_SECS while A (the JWKS
# server) is stopped and restarted, the signing key is rotated, and Redis is
# killed and restarted twice. Prints statuses per phase, resident memory at
# start, middle and end, and the recovery time after each fault.
#
# Floods: 1,000,000 distinct valid HS256 tokens against `axum_api`, and
# 100,000 distinct unknown session ids against B; resident memory before,
# during (peak) and after.
#
#   bash bench/soak.sh     # PHASE_SECS=60 (10 phases: 10 min) CONNECTIONS=16 TOKENS=1000000 SESSIONS=100000
set -euo pipefail
cd "$(dirname "$0")/.."

PHASE_SECS=${PHASE_SECS:-60}
CONNECTIONS=${CONNECTIONS:-16}
TOKENS=${TOKENS:-1000000}
SESSIONS=${SESSIONS:-100000}

need() { command -v "$1" >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }; }
need wrk wrk
need redis-server redis-server

cargo build -q --release --example shop --features issuer,redis
cargo build -q --release --example axum_api --example bench_flood
SHOP=target/release/examples/shop
API=target/release/examples/axum_api
FLOOD=target/release/examples/bench_flood

OUT=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }
rss_mib() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status" 2>/dev/null || echo "-"; }
wait_for() { # URL: until it answers at all (any status), at most 20 s
  for _ in $(seq 1 400); do curl -s -o /dev/null "$1" && return 0; sleep 0.05; done
  echo "no answer from $1" >&2; return 1
}

RP=$(port); PA=$(port); PB=$(port); PF=$(port)
REDIS_URL="redis://127.0.0.1:$RP"
SECRET=soak-backend-secret-0123456789
ADMIN=soak-admin-secret-0123456789
start_redis() {
  redis-server --bind 127.0.0.1 --port "$RP" --dir "$OUT" --appendonly yes --appendfsync always --save "" >"$OUT/redis.log" 2>&1 &
  REDIS=$!; PIDS+=("$REDIS")
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$RP") 2>/dev/null && return 0; sleep 0.05; done
}
start_shop() { # NAME PORT [extra env...]
  local name=$1 p=$2; shift 2
  env TOLLGATE_BIND="127.0.0.1:$p" TOLLGATE_ISSUER=http://soak.shop TOLLGATE_REDIS_URL="$REDIS_URL" \
    TOLLGATE_DEMO_CLIENT_ID=soak TOLLGATE_DEMO_CLIENT_SECRET="$SECRET" TOLLGATE_DEMO_ADMIN_SECRET="$ADMIN" \
    TOLLGATE_DEMO_CUSTOMER_EMAIL=soak@shop.example TOLLGATE_DEMO_CUSTOMER_PASSWORD=soak-customer-password \
    "$@" "$SHOP" >"$OUT/$name.log" 2>&1 &
  echo $!
}
token() { # BASE ID SECRET
  curl -s -u "$2:$3" -d grant_type=client_credentials "$1/oauth/token" | sed -E 's/.*"access_token":"([^"]+)".*/\1/'
}
A="http://127.0.0.1:$PA"; B="http://127.0.0.1:$PB"
write_creds() {
  local at ct sid
  at=$(token "$A" soak "$SECRET")
  ct=$(curl -s -X POST "$A/customers/tokens" -H "Authorization: Bearer $at" -H 'content-type: application/json' \
    -d '{"email":"soak@shop.example","password":"soak-customer-password"}' | sed -E 's/.*"token":"([^"]+)".*/\1/')
  sid=$(curl -s -X POST "$B/customer-sessions" -H "Authorization: Bearer $at" -H 'content-type: application/json' -d '{}' \
    | sed -E 's/.*"id":"([^"]+)".*/\1/')
  printf 'access %s\ncustomer %s\nsession %s\nbasic %s\n' "$at" "$ct" "$sid" "$(printf 'soak:%s' "$SECRET" | base64 -w0)" >"$OUT/creds"
  SID=$sid
}

start_redis
SHOP_A=$(start_shop a "$PA"); PIDS+=("$SHOP_A")
wait_for "$A/.well-known/jwks.json"
SHOP_B=$(start_shop b "$PB" TOLLGATE_JWKS_URL="$A/.well-known/jwks.json" TOLLGATE_AUDIENCE=shop-api); PIDS+=("$SHOP_B")
wait_for "$B/.well-known/jwks.json"
write_creds

echo "| phase | fault | statuses (count) | B RSS MiB |"
echo "|---|---|---|---|"
RSS_START=$(rss_mib "$SHOP_B")
phase() { # NAME FAULT
  local line
  line=$(SOAK_CREDS="$OUT/creds" wrk -t1 -c"$CONNECTIONS" -d"${PHASE_SECS}s" -s bench/soak.lua "$B" | grep '^statuses' || true)
  echo "| $1 | $2 | ${line#statuses } | $(rss_mib "$SHOP_B") |"
}
RECOVERY=()

phase 1-warm "none"
kill "$SHOP_A"; wait "$SHOP_A" 2>/dev/null || true
phase 2-jwks-down "issuer A (JWKS) stopped"
t0=$(now_ms); SHOP_A=$(start_shop a "$PA"); PIDS+=("$SHOP_A"); wait_for "$A/.well-known/jwks.json"
RECOVERY+=("JWKS server restart: answering after $(( $(now_ms) - t0 )) ms")
phase 3-jwks-up "issuer A restarted"
ADM=$(token "$A" demo-admin "$ADMIN")
curl -s -o /dev/null -X POST "$A/admin/keys/rotate" -H "Authorization: Bearer $ADM"
sleep 2; write_creds   # a token signed with the new key: B must fetch A's new JWKS
phase 4-rotated "signing key rotated; new-key tokens"
RSS_MID=$(rss_mib "$SHOP_B")
for n in 1 2; do
  kill -9 "$REDIS"; wait "$REDIS" 2>/dev/null || true
  phase "$((3 + 2 * n))-redis-down-$n" "redis killed"
  t0=$(now_ms); start_redis
  until [ "$(curl -s -o /dev/null -w '%{http_code}' -H "X-Session-Id: $SID" "$B/customer-sessions/current")" = 200 ]; do
    sleep 0.02; [ $(( $(now_ms) - t0 )) -gt 20000 ] && break
  done
  RECOVERY+=("redis restart $n: session lookups 200 again after $(( $(now_ms) - t0 )) ms (process start included)")
  phase "$((4 + 2 * n))-redis-up-$n" "redis restarted"
done
phase 9-steady "none"
phase 10-steady "none"
echo
echo "B resident memory: start $RSS_START MiB, middle $RSS_MID MiB, end $(rss_mib "$SHOP_B") MiB"
printf '%s\n' "${RECOVERY[@]}"

echo
echo "## Floods"
env TOLLGATE_BIND="127.0.0.1:$PF" TOLLGATE_ISSUER=http://flood.test TOLLGATE_AUDIENCE=flood \
  TOLLGATE_HS256_SECRET=flood-secret-0123456789-0123456789 "$API" >"$OUT/api.log" 2>&1 &
API_PID=$!; PIDS+=("$API_PID")
wait_for "http://127.0.0.1:$PF/orders"
peak() { local max=0 v; while kill -0 "$2" 2>/dev/null; do v=$(awk '/VmRSS/ {print $2}' "/proc/$1/status"); [ "$v" -gt "$max" ] && max=$v; sleep 1; done; echo $((max / 1024)); }
before=$(rss_mib "$API_PID")
"$FLOOD" tokens "http://127.0.0.1:$PF" flood-secret-0123456789-0123456789 http://flood.test flood "$TOKENS" >"$OUT/flood.txt" &
F=$!; PEAK=$(peak "$API_PID" "$F"); wait "$F" || true
echo "axum_api, $(cat "$OUT/flood.txt")"
echo "axum_api RSS: before $before MiB, peak $PEAK MiB, after $(rss_mib "$API_PID") MiB (token cache bound: 10,000 entries / 24 MiB)"
before=$(rss_mib "$SHOP_B")
"$FLOOD" sessions "$B" "$SESSIONS" >"$OUT/flood.txt" &
F=$!; PEAK=$(peak "$SHOP_B" "$F"); wait "$F" || true
echo "shop B, $(cat "$OUT/flood.txt")"
echo "shop B RSS: before $before MiB, peak $PEAK MiB, after $(rss_mib "$SHOP_B") MiB (negative session cache bound: 10,000 ids)"
