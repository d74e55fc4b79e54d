#!/usr/bin/env bash
# Two builds of examples/bench_server (OLD=path, and this tree's) interleaved in one run, so a change can be measured against its parent on a noisy machine:
#   git worktree add /tmp/old REV && (cd /tmp/old && CARGO_TARGET_DIR=/tmp/old-target cargo build --release --example bench_server --features actix)
#   OLD=/tmp/old-target/release/examples/bench_server bash bench/compare_builds.sh
set -u
cd "$(dirname "$0")/.."
cargo build -q --release --example bench_server --features actix
NEW=target/release/examples/bench_server
OLD=${OLD:?set OLD to another build of examples/bench_server}
TOKEN=$($NEW mint)
OUT=$(mktemp -d)
PORT=3290
for round in 1 2 3; do
  for spec in new:axum-bare old:axum-tollgate new:axum-tollgate old:axum-tollgate-outer new:axum-tollgate-outer new:actix-bare old:actix-tollgate new:actix-tollgate; do
    which=${spec%%:*}; mode=${spec#*:}
    bin=$NEW; [ "$which" = old ] && bin=$OLD
    taskset -c 0 $bin $mode $PORT > $OUT/log 2>&1 & pid=$!
    for _ in $(seq 1 100); do grep -q "listening on" $OUT/log && break; sleep 0.05; done
    taskset -c 1 wrk -t1 -c32 -d5s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:$PORT/ 2>&1 | awk -v s=$spec '/Requests\/sec/ {print s, $2}' >> $OUT/res
    kill $pid; wait $pid 2>/dev/null
  done
done
python3 - $OUT/res <<'PY'
import sys, statistics, collections
d = collections.defaultdict(list)
for line in open(sys.argv[1]):
    k, v = line.split(); d[k].append(float(v))
for k, v in d.items():
    print(f"{k:28s} median {statistics.median(v):10,.0f} req/s  {v}")
PY
