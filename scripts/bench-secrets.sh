#!/usr/bin/env bash
# Benchmarks the `secrets` scanning core against reference tools on a large corpus.
#
# Builds (once) a corpus from the crate sources under ~/.cargo/registry/src,
# commits it into a fresh repository one small group of files per commit with
# git fast-import (over 10,000 commits, with edits and deletions along the way),
# then measures side by side, with /usr/bin/time -v for wall time and peak RSS:
#   work tree: our scan vs ripgrep with one alternation of 20 key patterns;
#   history:   our scan vs `git cat-file --batch-all-objects --batch`;
#   memory:    peak RSS of the history scan at several history sizes (a second
#              repository with one file per commit, tagged at each checkpoint
#              and cut there by a bare single-branch clone).
# Each timing runs RUNS times (default 5); the median wall and CPU seconds are
# printed with the load average, since a shared machine skews single runs.
# Usage: scripts/bench-secrets.sh [workdir]   (default /tmp/secrets-bench)
#   env: RUNS=5  CHECKPOINTS="2500 5000 10000 20000" (empty: no memory table)
# Everything built is kept in workdir and reused by the next run.
set -euo pipefail

WORK=${1:-/tmp/secrets-bench}
RUNS=${RUNS:-5}
CHECKPOINTS=${CHECKPOINTS-2500 5000 10000 20000}
SRC=${CARGO_HOME:-$HOME/.cargo}/registry/src
CORPUS=$WORK/corpus
REPO=$WORK/repo.git
CRATE_DIR=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$WORK"

if ! command -v rg >/dev/null; then
    apt-get install -y -q ripgrep >/dev/null 2>&1 || cargo install -q ripgrep
fi

if [ ! -d "$CORPUS" ]; then
    echo "copying corpus from $SRC"
    mkdir -p "$CORPUS"
    cp -r "$SRC"/*/. "$CORPUS"/
fi

# build_history REPO TARGET_COMMITS [CHECKPOINTS...]: commits the corpus into
# REPO in about TARGET_COMMITS commits, tagging cp-N at commit N.
build_history() {
    local repo=$1 target=$2; shift 2
    echo "building $repo with git fast-import (~$target commits)"
    git init -q --bare "$repo"
    python3 - "$CORPUS" "$target" "$@" <<'PY' | git -C "$repo" fast-import --quiet
import os, sys
root = sys.argv[1]
target = int(sys.argv[2])
checkpoints = {int(c) for c in sys.argv[3:]}
files = []
for d, _, names in os.walk(root):
    for n in sorted(names):
        p = os.path.join(d, n)
        if os.path.isfile(p) and not os.path.islink(p):
            files.append(os.path.relpath(p, root))
files.sort()
out = sys.stdout.buffer
per = max(1, len(files) // target)
groups = [files[i:i + per] for i in range(0, len(files), per)]
mark, ts, committed = 0, 1_500_000_000, []
def data(b):
    out.write(b"data %d\n" % len(b)); out.write(b); out.write(b"\n")
for n, group in enumerate(groups):
    mark += 1; ts += 60
    out.write(b"commit refs/heads/main\nmark :%d\n" % mark)
    out.write(b"committer Bench <bench@example.com> %d +0000\n" % ts)
    data(b"add group %d" % n)
    if mark > 1:
        out.write(b"from :%d\n" % (mark - 1))
    for rel in group:
        with open(os.path.join(root, rel), "rb") as fh:
            body = fh.read()
        out.write(b"M 100644 inline %s\n" % rel.encode())
        data(body)
        committed.append(rel)
    if n % 400 == 399 and len(committed) > 10:
        edited = committed[-7]
        out.write(b"M 100644 inline %s\n" % edited.encode())
        data(b"// edited in commit %d\n" % n)
        out.write(b"D %s\n" % committed[-3].encode())
    if mark in checkpoints:
        out.write(b"reset refs/tags/cp-%d\nfrom :%d\n\n" % (mark, mark))
out.write(b"done\n")
PY
}

[ -d "$REPO" ] || build_history "$REPO" 10500

echo "corpus: $(du -sb "$CORPUS" | cut -f1) bytes, $(find "$CORPUS" -type f | wc -l) files;" \
     "history: $(git -C "$REPO" rev-list --count --all) commits," \
     "$(git -C "$REPO" count-objects -v | awk '/size-pack/ {print $2}') KiB packed"

cargo build -q --release --example secrets_bench --manifest-path "$CRATE_DIR/Cargo.toml"
BENCH=$CRATE_DIR/target/release/examples/secrets_bench

median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

# measure LABEL OUT CMD...: runs CMD $RUNS times; prints median wall and CPU
# seconds, the largest peak RSS and the load average before the runs.
measure() {
    local label=$1 out=$2; shift 2
    local log=$WORK/time-$label.txt load walls=() cpus=() rss=0
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f '%e %U %S %M' -o "$log" "$@" >"$out" 2>/dev/null || true
        read -r w u s m <"$log"
        walls+=("$w")
        cpus+=("$(echo "$u + $s" | bc)")
        [ "$m" -gt "$rss" ] && rss=$m
    done
    # CPU seconds matter on a shared machine: wall time there includes waiting for a core.
    printf '%-22s wall %6ss  cpu %6ss  peak RSS %6d MiB  (median of %d, load %s)\n' \
        "$label" "$(printf '%s\n' "${walls[@]}" | median)" \
        "$(printf '%s\n' "${cpus[@]}" | median)" "$((rss / 1024))" "$RUNS" "$load"
}

PATTERNS='AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82}'
PATTERNS+='|glpat-[A-Za-z0-9_-]{20}|[rs]k_live_[A-Za-z0-9]{24,}|xox[baprs]-[A-Za-z0-9-]{10,}'
PATTERNS+='|hooks\.slack\.com/services/[A-Za-z0-9/]+|SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}'
PATTERNS+='|key-[0-9a-f]{32}|sk-ant-[A-Za-z0-9_-]{90,}|sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}'
PATTERNS+='|npm_[A-Za-z0-9]{36}|pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}|AIza[0-9A-Za-z_-]{35}'
PATTERNS+='|-----BEGIN [A-Z ]*PRIVATE KEY-----|eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}'
PATTERNS+='|(postgres|mysql|mongodb|redis)://[^:@/ ]+:[^@/ ]+@|dckr_pat_[A-Za-z0-9_-]{27}'
PATTERNS+='|(password|secret|api_?key|token)["'"'"']?\s*[:=]\s*["'"'"'][^"'"'"']{12,}'

# Warm the page cache so every contender reads from memory.
cat "$(find "$CORPUS" -type f | head -1)" >/dev/null
find "$CORPUS" -type f -print0 | xargs -0 cat >/dev/null
git -C "$REPO" cat-file --batch-all-objects --batch >/dev/null

echo "== work tree ($CORPUS)"
measure rg-20-patterns "$WORK/out-rg.txt" rg -c --no-ignore --hidden -e "$PATTERNS" "$CORPUS"
measure readiness-worktree "$WORK/out-readiness-worktree.txt" "$BENCH" worktree "$CORPUS"
cat "$WORK/out-readiness-worktree.txt"

echo "== history ($REPO)"
measure git-cat-file-all /dev/null git -C "$REPO" cat-file --batch-all-objects --batch
measure readiness-history "$WORK/out-readiness-history.txt" "$BENCH" history "$REPO"
cat "$WORK/out-readiness-history.txt"

[ -n "$CHECKPOINTS" ] || exit 0
LONG=$WORK/repo-long.git
last=0
for c in $CHECKPOINTS; do last=$c; done
# One file per commit, so the history is long enough for the last checkpoint.
[ -d "$LONG" ] || build_history "$LONG" $((last + last / 10)) $CHECKPOINTS
echo "== memory: history scan at several history sizes ($LONG)"
for c in $CHECKPOINTS; do
    cut=$WORK/cp-$c.git
    [ -d "$cut" ] || git clone -q --bare --no-local --single-branch --branch "cp-$c" "$LONG" "$cut"
    git -C "$cut" cat-file --batch-all-objects --batch >/dev/null
    commits=$(git -C "$cut" rev-list --count --all)
    printf 'commits %6d  ' "$commits"
    measure "history-cp-$c" "$WORK/out-cp-$c.txt" "$BENCH" history "$cut"
    sed -n '1p;$p' "$WORK/out-cp-$c.txt" | sed 's/^/    /'
done
