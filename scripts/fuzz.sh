#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser of outside data (fuzz/fuzz_targets/, bodies in fuzz/src/).
# Not part of the test command (scripts/test.sh), which only replays what is committed: exploration
# finds bugs by chance, so it runs here, on demand.
#
#   bash scripts/fuzz.sh                 # 300 s per target, grows fuzz/corpus/, then minimises it
#   bash scripts/fuzz.sh 60              # 60 s per target
#   bash scripts/fuzz.sh --smoke         # 5 s per target; new inputs go to a temporary directory, the
#                                        # committed corpus is only read
#   bash scripts/fuzz.sh --smoke 10      # smoke mode, 10 s per target
#   FUZZ_TARGETS="webhook tokens" bash scripts/fuzz.sh 600
#
# Exits non-zero when a target fails (a panic, a broken property, a timeout or an out-of-memory).
# Crash inputs never land in the repository's folders: libFuzzer writes them to
# results/fuzz/artifacts/<target>/ (git-ignored), and this prints how to reproduce one and how to keep
# it: minimise it, fix the bug, and commit the minimised input under fuzz/artifacts/<target>/ with the
# fix; tests/fuzz_corpus.rs then replays it (and the corpus) in plain `cargo test`. Needs the nightly
# toolchain (libFuzzer's instrumentation); without it this says so and exits 0, because the corpus
# replay still runs on stable.
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
  # Crash, timeout and out-of-memory inputs go to a scratch folder (results/ is git-ignored), not to
  # fuzz/artifacts/, which holds only reproducers committed with their fix.
  artifacts="results/fuzz/artifacts/$target"
  mkdir -p "$artifacts" fuzz/target
  if [ "$smoke" = 1 ]; then
    # libFuzzer adds new inputs to the first directory only: keep the committed corpus untouched.
    dirs=("$scratch/$target" "$corpus")
    mkdir -p "$scratch/$target"
  else
    mkdir -p "$corpus"
    dirs=("$corpus")
  fi
  log="fuzz/target/fuzz-$target.log"
  before=$(ls "$artifacts" | sort)
  echo "fuzz: $target for ${seconds} s"
  # The last -artifact_prefix wins: it overrides the fuzz/artifacts/<target>/ that cargo-fuzz passes first.
  if cargo +nightly fuzz run "$target" "${dirs[@]}" -- -artifact_prefix="$PWD/$artifacts/" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
    grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 | sed "s/^/fuzz: $target: /" || true
    grep -E 'stat::(number_of_executed_units|average_exec_per_sec)' "$log" | sed "s/^/fuzz: $target: /" || true
  else
    new=$(comm -13 <(echo "$before") <(ls "$artifacts" | sort) | sed "s|^|$artifacts/|")
    first=${new%%$'\n'*}
    echo "fuzz: $target FAILED; from $log:" >&2
    grep -E 'panicked at|^thread|ERROR: libFuzzer|SUMMARY' "$log" | head -5 >&2 || true
    echo "fuzz: input: ${new:-none written, see $log}" >&2
    if [ -n "$first" ]; then
      echo "fuzz: reproduce:  cargo +nightly fuzz run $target $first" >&2
      echo "fuzz: keep it as a regression input once the bug is fixed:" >&2
      echo "fuzz:   cargo +nightly fuzz tmin $target $first   # writes fuzz/artifacts/$target/minimized-from-…" >&2
      echo "fuzz:   and commit that file with the fix (tests/fuzz_corpus.rs replays fuzz/artifacts/ in cargo test:" >&2
      echo "fuzz:   committed before the fix, it turns the test command red)" >&2
    fi
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
