#!/usr/bin/env bash
# A short fixed-time run of every fuzz target (CI's smoke run): seed the
# corpora, build with AddressSanitizer on nightly, run each target for
# SECONDS (default 25) on one worker, fail on the first crash, hang or leak.
# Without a nightly toolchain it says so loudly and fails when CI is set
# (skips otherwise): a silent skip would look like a pass.
set -euo pipefail
secs=${1:-25}
cd "$(dirname "$0")/.."                       # fuzz/

# In CI, nightly and cargo-fuzz are installed when missing; elsewhere a
# missing nightly is said loudly and the run skipped.
if ! cargo +nightly --version >/dev/null 2>&1 && [ -n "${CI:-}" ] && command -v rustup >/dev/null 2>&1; then
  echo "installing the nightly toolchain"
  rustup toolchain install nightly --profile minimal || true
fi
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "!!! cargo fuzz needs the nightly toolchain (rustup toolchain install nightly): NOT RUN" >&2
  if [ -n "${CI:-}" ]; then exit 1; fi
  exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "!!! cargo-fuzz is not installed and could not be: NOT RUN" >&2
  if [ -n "${CI:-}" ]; then exit 1; fi
  exit 0
fi
echo "$(cargo +nightly --version), $(cargo +nightly fuzz --version)"

scripts/seed-corpora.sh corpus
cargo +nightly fuzz build

declare -A max_len=([classic]=65536 [pcapng]=65536 [decode]=4096 [pipeline]=16384)
declare -A extra=([classic]= [pcapng]=-dict=pcapng.dict [decode]= [pipeline]=)
for t in classic pcapng decode pipeline; do
  log=$(mktemp)
  start=$SECONDS
  if ! cargo +nightly fuzz run "$t" "corpus/$t" -- \
      -workers=1 -max_total_time="$secs" -timeout=10 -max_len="${max_len[$t]}" \
      -print_final_stats=1 ${extra[$t]} >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "!!! fuzz target $t failed: the crashing input is in fuzz/artifacts/$t/" >&2
    rm -f "$log"
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  cov=$(grep -E '#[0-9]+\s+DONE' "$log" | grep -o 'cov: [0-9]* ft: [0-9]*' | tail -1)
  echo "fuzz $t: $runs runs in $((SECONDS - start)) s, $cov, corpus $(ls "corpus/$t" | wc -l) files"
  rm -f "$log"
done
