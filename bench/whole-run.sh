#!/usr/bin/env bash
# Whole-run speed (issue 5): smcdump against tshark and `cat` on one large capture, in one run.
#
#   bench/whole-run.sh [FILE]
#
# Without FILE it generates (once, then reuses) a capture with smc-gencap: BENCH_SIZE (default
# 1G) of mixed traffic — mostly ordinary TCP/UDP, thousands of SMC handshakes of every outcome,
# RoCEv2 LLC/CDC/RDMA WRITE — from seed BENCH_SEED (default 1), plus a quarter-size one to show
# that smcdump's memory does not grow with the file. The file is read once first so every tool
# reads it from the page cache. Timed: `smcdump -q -r FILE` (release build, median of RUNS=5; it
# maps the file), the same with `--no-mmap` (read(2) into a buffer, as for pipes and gzip),
# `tshark -r FILE -o tcp.try_heuristic_first:TRUE -Y smc` (median of TSHARK_RUNS=1), `cat FILE >
# /dev/null` (median of RUNS). Medians are by wall time; CPU is user + system of that run. The
# load average and the busiest other processes are printed: on a shared machine they decide the
# wall-clock figures. PROFILE=1 adds a profile of smcdump: perf if hardware counters work here,
# else valgrind's callgrind on a 40 MB capture.
#
# The speed targets live here, not in timed tests: smcdump at least 50x tshark's throughput,
# within 3x of reading the file, and peak memory that does not grow with the file.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${BENCH_SIZE:-1G}
SEED=${BENCH_SEED:-1}
RUNS=${RUNS:-5}
TSHARK_RUNS=${TSHARK_RUNS:-1}
DIR=${BENCH_DIR:-${TMPDIR:-/tmp}}
TARGET=${CARGO_TARGET_DIR:-$PWD/target}

need() { command -v "$1" >/dev/null || { echo "whole-run: $1 is needed ($2)" >&2; exit 1; }; }
need tshark "apt-get install tshark"
need python3 "to compute the table"
[ -x /usr/bin/time ] || { echo "whole-run: /usr/bin/time is needed (apt-get install time)" >&2; exit 1; }

cargo build --release -q -p smc-dissect --bin smcdump -p smc-fuzz --bin smc-gencap
SMCDUMP=$TARGET/release/smcdump
GENCAP=$TARGET/release/smc-gencap

gen() { # size file
  if [ ! -s "$2" ] || [ ! -s "$2.json" ]; then
    echo "generating $2 ($1, seed $SEED) ..." >&2
    "$GENCAP" --size "$1" --seed "$SEED" -o "$2" --report "$2.json"
  fi
}
if [ $# -ge 1 ]; then
  FILE=$1
  SMALL=
else
  FILE=$DIR/smc-bench-$SIZE-seed$SEED.pcap
  gen "$SIZE" "$FILE"
  QUARTER=$(python3 -c "import sys; s=sys.argv[1]; m={'K':1<<10,'M':1<<20,'G':1<<30}; n=int(s[:-1])*m[s[-1].upper()] if s[-1].upper() in m else int(s); print(n//4)" "$SIZE")
  SMALL=$DIR/smc-bench-$QUARTER-seed$SEED.pcap
  gen "$QUARTER" "$SMALL"
fi

# one timed run: prints "wall_microseconds peak_rss_kib cpu_seconds" (cpu = user + system)
timed() {
  local rss t0 t1
  rss=$(mktemp)
  t0=$(date +%s%N)
  /usr/bin/time -f '%M %U %S' -o "$rss" "$@" >/dev/null 2>&1
  t1=$(date +%s%N)
  echo "$(( (t1 - t0) / 1000 )) $(tail -1 "$rss" | awk '{print $1, $2 + $3}')"
  rm -f "$rss"
}
# median (by wall time) of n runs
median() {
  local n=$1; shift
  for _ in $(seq "$n"); do timed "$@"; done | sort -n | awk '{a[NR]=$0} END{print a[int((NR+1)/2)]}'
}

cat "$FILE" >/dev/null  # page cache
BYTES=$(stat -c %s "$FILE")
FRAMES=$("$SMCDUMP" --json --no-progress -r "$FILE" | tail -1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["frames"])')

BUSY_BEFORE=$(ps -eo pcpu=,comm= --sort=-pcpu | awk '$1 >= 20 {printf "%s%s %s%%", sep, $2, $1; sep=", "}')
echo "timing cat, smcdump, smcdump --no-mmap ($RUNS runs each) and tshark ($TSHARK_RUNS) on $FILE ..." >&2
CAT=$(median "$RUNS" cat "$FILE")
SMC=$(median "$RUNS" "$SMCDUMP" -q --no-progress -r "$FILE")
SMCREAD=$(median "$RUNS" "$SMCDUMP" -q --no-progress --no-mmap -r "$FILE")
TSH=$(median "$TSHARK_RUNS" tshark -r "$FILE" -o tcp.try_heuristic_first:TRUE -Y smc)
# memory: the flow table holds at most --max-flows flows (default 64 Ki, each idle up to 600 s of
# capture time), so peak RSS grows with the flows held until that cap, never with bytes; with a
# small cap both files must need the same memory
MEM=
if [ -n "$SMALL" ]; then
  cat "$SMALL" >/dev/null
  MEM="$(stat -c %s "$SMALL") $(timed "$SMCDUMP" -q --no-progress -r "$SMALL" | cut -d' ' -f2)"
  MEM="$MEM $(timed "$SMCDUMP" -q --no-progress --max-flows 1024 -r "$SMALL" | cut -d' ' -f2)"
  MEM="$MEM $(timed "$SMCDUMP" -q --no-progress --max-flows 1024 -r "$FILE" | cut -d' ' -f2)"
fi
LOAD="$(cut -d' ' -f1-3 /proc/loadavg); processes busy before (ps %CPU over their life): ${BUSY_BEFORE:-none}"

# does smcdump find what the generator made?
CHECK=
if [ -s "$FILE.json" ]; then
  CHECK=$("$SMCDUMP" --json --no-progress -r "$FILE" | tail -1 | python3 -c '
import json, sys
st = json.load(sys.stdin)["data"]; rep = json.load(open(sys.argv[1]))
keys = ["verdicts", "decline_reasons", "llc_messages", "cdc_messages", "rdma_writes", "connections"]
bad = [k for k in keys if st[k] != rep[k]]
print("smcdump found exactly the generated verdicts (%d SMC connections: %s)" % (st["connections"],
      ", ".join("%s %d" % kv for kv in sorted(st["verdicts"].items())))
      if not bad else "MISMATCH with the generator report: " + ", ".join(bad))
' "$FILE.json")
fi

python3 - "$BYTES" "$FRAMES" "$CAT" "$SMC" "$TSH" "$MEM" "$LOAD" "$SMCREAD" "$TSHARK_RUNS" <<'PY'
import sys
bytes_, frames = int(sys.argv[1]), int(sys.argv[2])
def parse(s):
    us, rss, cpu = s.split()[:3]
    return int(us) / 1e6, int(rss), float(cpu)
cat, smc, tsh = parse(sys.argv[3]), parse(sys.argv[4]), parse(sys.argv[5])
smcread = parse(sys.argv[8])
rows = [("cat FILE > /dev/null", "floor", cat), ("smcdump -q -r FILE", "", smc),
        ("smcdump -q --no-mmap -r FILE", "read", smcread),
        ("tshark -r FILE -o tcp.try_heuristic_first:TRUE -Y smc", "", tsh)]
print(f"file: {bytes_/1e6:.0f} MB, {frames} frames; load average after: {sys.argv[7]}")
print(f"runs: median of {sys.argv[9]} for tshark; smcdump and cat as set by RUNS")
print()
print("| command | wall s | MB/s | packets/s | CPU s (user+sys) | peak RSS | smcdump is |")
print("|---|---:|---:|---:|---:|---:|---:|")
for name, note, (s, rss, cpu) in rows:
    if note == "read":
        rel = f"{s / smc[0]:.2f}x smcdump's time"
    elif name.startswith("smcdump"):
        rel = ""
    elif note == "floor":
        rel = f"{smc[0] / s:.2f}x its time"
    else:
        rel = f"{s / smc[0]:.0f}x faster"
    print(f"| `{name}` | {s:.3f} | {bytes_/1e6/s:,.0f} | {frames/s/1e6:.2f} M | {cpu:.2f} | {rss/1024:.1f} MiB | {rel} |")
print()
vs_tshark, vs_cat = tsh[0] / smc[0], smc[0] / cat[0]
cpu_tshark = tsh[2] / smc[2] if smc[2] else float("nan")
print(f"smcdump vs tshark: {vs_tshark:.0f}x the throughput (wall clock; {cpu_tshark:.0f}x by CPU time)"
      f"   target >= 50x: {'met' if vs_tshark >= 50 else 'MISSED'}")
print(f"  with --no-mmap:  {tsh[0] / smcread[0]:.0f}x (wall clock; "
      f"{tsh[2] / smcread[2] if smcread[2] else float('nan'):.0f}x by CPU time)")
print(f"smcdump vs cat:    {vs_cat:.2f}x the time"
      f"   target <= 3x: {'met' if vs_cat <= 3 else 'MISSED'}")
if sys.argv[6]:
    b_small, rss_small, cap_small, cap_full = map(int, sys.argv[6].split())
    flat = cap_full <= cap_small * 1.10 + 1024
    print(f"smcdump peak RSS, default --max-flows 65536: {rss_small/1024:.1f} MiB on {b_small/1e6:.0f} MB, "
          f"{smc[1]/1024:.1f} MiB on {bytes_/1e6:.0f} MB (the flow table filling toward its cap)")
    print(f"smcdump peak RSS, --max-flows 1024:          {cap_small/1024:.1f} MiB on {b_small/1e6:.0f} MB, "
          f"{cap_full/1024:.1f} MiB on {bytes_/1e6:.0f} MB   target: does not grow with the file: {'met' if flat else 'MISSED'}")
PY
[ -n "$CHECK" ] && echo "$CHECK"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r); $(tshark --version 2>/dev/null | head -1)"

if [ "${PROFILE:-0}" = 1 ]; then
  echo
  if perf stat -e instructions true 2>&1 | grep -q '[0-9] *instructions'; then
    echo "profile (perf, hardware counters):"
    perf record -q -g -o "$DIR/smcdump.perf" "$SMCDUMP" -q --no-progress -r "$FILE" >/dev/null 2>&1
    perf report -i "$DIR/smcdump.perf" --stdio --no-children --sort symbol 2>/dev/null | grep -v '^#' | grep '%' | head -20
  else
    echo "profile (valgrind callgrind, instructions; no hardware counters here):"
    gen 40M "$DIR/smc-bench-40M-seed$SEED.pcap"
    valgrind --tool=callgrind --callgrind-out-file="$DIR/smcdump.callgrind" \
      "$SMCDUMP" -q --no-progress -r "$DIR/smc-bench-40M-seed$SEED.pcap" 2>&1 | grep 'refs'
    callgrind_annotate "$DIR/smcdump.callgrind" 2>/dev/null | sed -n '/file:function/,$p' | sed -n '3,22p' | cut -c1-160
  fi
fi
