#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each, one after another (one libFuzzer
# process, no parallel jobs), on its committed corpus, then prints a summary:
# per target the executions, exec/s and the final cov:/ft: numbers.
#
#   fuzz/run.sh SECONDS [TARGET...]
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install --locked
# cargo-fuzz`); CI does not run this. New corpus entries are written to
# fuzz/corpus/TARGET; crashes to fuzz/artifacts/TARGET.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:?usage: fuzz/run.sh SECONDS [TARGET...]}"
shift
if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo +nightly fuzz list)
fi

for t in "${targets[@]}"; do cargo +nightly fuzz build "$t"; done

logs="fuzz/target/logs"
mkdir -p "$logs"
status=0
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  echo "=== $t: ${secs}s"
  if ! cargo +nightly fuzz run "$t" "fuzz/corpus/$t" -- \
      -max_total_time="$secs" -print_final_stats=1 -timeout=30 -rss_limit_mb=4096 \
      >"$logs/$t.log" 2>&1; then
    echo "    FAILED: see $logs/$t.log and fuzz/artifacts/$t/"
    status=1
  fi
done

echo
printf '%-16s %8s %12s %10s %10s %10s %8s\n' target seconds executions exec/s cov ft corpus
for t in "${targets[@]}"; do
  f="$logs/$t.log"
  # The last status line libFuzzer printed (`#N DONE cov: C ft: F corp: ...`
  # or the last pulse before a crash).
  line="$(grep -E '^#[0-9]+' "$f" | tail -n 1 || true)"
  execs="$(grep -E '^stat::number_of_executed_units:' "$f" | awk '{print $2}' || true)"
  rate="$(grep -E '^stat::average_exec_per_sec:' "$f" | awk '{print $2}' || true)"
  cov="$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$line")"
  ft="$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$line")"
  corp="$(sed -nE 's/.* corp: ([0-9]+\/[^ ]+).*/\1/p' <<<"$line")"
  printf '%-16s %8s %12s %10s %10s %10s %8s\n' "$t" "$secs" "${execs:-?}" "${rate:-?}" \
    "${cov:-?}" "${ft:-?}" "${corp:-?}"
  if grep -qE '^==[0-9]+==ERROR|panicked at|deadly signal' "$f"; then
    echo "    crash: $(grep -E 'panicked at|SUMMARY' "$f" | head -n 1)"
  fi
done
exit "$status"
