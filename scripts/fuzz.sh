#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser of outside data (fuzz/fuzz_targets/, bodies in fuzz/src/).
#
#   bash scripts/fuzz.sh                 # on demand: 300 s per target, grows fuzz/corpus/, then minimises it
#   bash scripts/fuzz.sh 60              # 60 s per target
#   bash scripts/fuzz.sh --smoke         # 5 s per target; new inputs go to a temporary directory, the
#                                        # committed corpus is only read (what scripts/test.sh runs)
#   bash scripts/fuzz.sh --smoke 10      # smoke mode, 10 s per target
#   FUZZ_TARGETS="webhook tokens" bash scripts/fuzz.sh 600
#
# Exits non-zero when a target fails (a panic, a broken property, a timeout or an out-of-memory) and
# names the reproducer libFuzzer wrote under fuzz/artifacts/<target>/. Reproduce one with
#   cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file>
# and keep it there once fixed: tests/fuzz_corpus.rs replays corpus and artifacts in plain
# `cargo test`. Needs the nightly toolchain (libFuzzer's instrumentation); without it this says so and
# exits 0, because the corpus replay still runs on stable.
set -euo pipefail

CARGO_FUZZ_VERSION="0.13.1"
cd "$(dirname "$0")/.."

smoke=0
seconds=""
for arg in "$@"; do
  case "$arg" in
    --smoke) smoke=1 ;;
    ''|*[!0-9]*) echo "usage: bash scripts/fuzz.sh [--smoke] [seconds-per-target]" >&2; exit 2 ;;
    *) seconds="$arg" ;;
  esac
done
if [ -z "$seconds" ]; then
  if [ "$smoke" = 1 ]; then seconds=5; else seconds=300; fi
fi
targets=${FUZZ_TARGETS:-"webhook config relay_config mapping responses sidebar_messages tokens"}

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "fuzz: the nightly toolchain is not installed (rustup toolchain install nightly); skipping fuzzing."
  echo "fuzz: the committed corpus and crash reproducers are still replayed by 'cargo test --test fuzz_corpus'."
  exit 0
fi
if [ "$(cargo fuzz --version 2>/dev/null | awk '{print $2}')" != "$CARGO_FUZZ_VERSION" ]; then
  echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --force
fi

# Release build with debug assertions and overflow checks (cargo-fuzz's default), AddressSanitizer.
started=$(date +%s)
cargo +nightly fuzz build
echo "fuzz: built all targets in $(( $(date +%s) - started )) s"

scratch=""
if [ "$smoke" = 1 ]; then
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
fi

failed=()
for target in $targets; do
  corpus="fuzz/corpus/$target"
  mkdir -p "$corpus" "fuzz/artifacts/$target"
  if [ "$smoke" = 1 ]; then
    # libFuzzer adds new inputs to the first directory only: keep the committed corpus untouched.
    dirs=("$scratch/$target" "$corpus")
    mkdir -p "$scratch/$target"
  else
    dirs=("$corpus")
  fi
  log="fuzz/target/fuzz-$target.log"
  mkdir -p fuzz/target
  before=$(ls "fuzz/artifacts/$target" | sort)
  echo "fuzz: $target for ${seconds} s"
  if cargo +nightly fuzz run "$target" "${dirs[@]}" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
    grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 | sed "s/^/fuzz: $target: /" || true
    grep -E 'stat::(number_of_executed_units|average_exec_per_sec)' "$log" | sed "s/^/fuzz: $target: /" || true
  else
    new=$(comm -13 <(echo "$before") <(ls "fuzz/artifacts/$target" | sort) | sed "s|^|fuzz/artifacts/$target/|")
    echo "fuzz: $target FAILED; the last lines of $log:" >&2
    grep -E 'panicked at|^thread|ERROR: libFuzzer|SUMMARY' "$log" | head -5 >&2 || true
    echo "fuzz: reproducer: ${new:-see $log}" >&2
    echo "fuzz: reproduce with: cargo +nightly fuzz run $target ${new%%$'\n'*}" >&2
    failed+=("$target")
  fi
done

if [ "$smoke" = 0 ] && [ ${#failed[@]} = 0 ]; then
  # Keep the committed corpus small (a few hundred files a target): a set cover of the edges the
  # corpus reaches (not hit counts), plus the hand-written seeds.
  for target in $targets; do
    cargo +nightly fuzz cmin "$target" "fuzz/corpus/$target" -- -use_counters=0 -set_cover_merge=1 \
      >"fuzz/target/cmin-$target.log" 2>&1
    echo "fuzz: $target corpus minimised to $(ls "fuzz/corpus/$target" | wc -l) files"
  done
  python3 fuzz/seeds/make_seeds.py
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: all targets passed"
