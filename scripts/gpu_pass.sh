#!/usr/bin/env bash
# One GPU pass, as the single command of a device run (docs/GPU_PASS.md):
#   evaluate the shipped checkpoints -> probe the training rate -> continue mtsa, train the
#   constant-temperature ablation for exactly as many steps, continue mtsa-guided ->
#   evaluate again -> put checkpoints, evaluations and logs under $OUT.
#
#   bash scripts/gpu_pass.sh                           # on the device, .gpu_kit/ carried
#   GPU_PASS_TINY=1 GPU_KIT=/tmp/kit OUT=/tmp/gpu_out bash scripts/gpu_pass.sh   # CPU rehearsal
#
# The device run is killed at its time limit and a killed run returns only what already
# sits in $OUT, so every phase gets an explicit budget derived from one deadline, and the
# training budgets are whatever the fixed phases leave. `set -u` but not `-e`: a phase that
# fails is logged with its exit code and the others still run and still come back.
set -u

cd "$(dirname "$0")/.." || exit 2
T0=$(date +%s)

# ----------------------------------------------------------------------------- settings
TINY=${GPU_PASS_TINY:-0}
KIT=${GPU_KIT:-.gpu_kit}
if [ -z "${OUT:-}" ]; then echo "error: set OUT to the folder that comes back" >&2; exit 2; fi
mkdir -p "$OUT" || exit 2
PY=${PYTHON:-python}
command -v "$PY" >/dev/null 2>&1 || PY=python3
LR=${GPU_LR:-2e-4}                # the shipped runs' rate (runs/*/config.json); Adam restarts at step 0
ADV_START=${GPU_ADV_START:-2000}  # the default: adversarial terms only once fills have structure
BIG=1000000                       # "--steps large": --time-limit decides where the run stops
if [ "$TINY" = 1 ]; then
    # CPU rehearsal: the same phases and files at a size this 2-core box does in minutes
    BUDGET_S=${GPU_PASS_BUDGET_S:-1500}
    IMG=64; CROP=64; LIMIT=(--limit 2); BATCH=${GPU_BATCH:-2}; WORKERS=0
    # GPU_PASS_STEP_CAP=1000000 with a short GPU_PASS_BUDGET_S rehearses the --time-limit path
    PROBE_STEPS=3; PROBE_WARMUP=1; LOG_EVERY=1; SAMPLE_EVERY=2; STEP_CAP=${GPU_PASS_STEP_CAP:-3}
    EVAL_TIMEOUT=420; PROBE_TIMEOUT=300; OVERHEAD_DEFAULT=60
else
    # 565 s of the run's 590 s limit: ~25 s left for the copy back and a late save
    BUDGET_S=${GPU_PASS_BUDGET_S:-565}
    IMG=256; CROP=256; LIMIT=(); BATCH=${GPU_BATCH:-32}
    # the Telea prior and the masks are CPU work (~23 ms a sample at 256 px): every core but
    # the one driving the GPU makes samples
    CORES=$(nproc 2>/dev/null || echo 16)
    WORKERS=$(( CORES > 2 ? CORES - 1 : 1 )); [ "$WORKERS" -gt 16 ] && WORKERS=16
    PROBE_STEPS=${GPU_PROBE_STEPS:-40}; PROBE_WARMUP=10; LOG_EVERY=5; SAMPLE_EVERY=500; STEP_CAP=$BIG
    EVAL_TIMEOUT=150; PROBE_TIMEOUT=120; OVERHEAD_DEFAULT=25
fi
DEADLINE=$(( T0 + BUDGET_S ))
EVAL_DIR=$KIT/eval256             # the evaluation's own 256 px crops of the held-out PNGs
WEIGHTS=$KIT/weights
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu_pass.XXXXXX") || exit 2
mkdir -p "$WORK/logs" "$WORK/eval" "$WORK/runs"
LOG=$OUT/gpu_pass.log             # written in place: a killed run still returns it
PHASES=$WORK/phases.tsv
printf 'phase\trc\tseconds\n' > "$PHASES"

# the kit's ST-LPIPS copy (no wheel on the device) and its checkpoints as "installed" ones
export TEMPERA_STLPIPS_DIR=$KIT/stlpips
export TEMPERA_WEIGHTS=$WEIGHTS
export PYTHONUNBUFFERED=1

# ----------------------------------------------------------------------------- helpers
say() {  # timestamped line on stdout (the run's output tail) and in the combined log
    local line
    line="[+$(( $(date +%s) - T0 ))s $(date -u +%H:%M:%S)] $*"
    echo "$line"
    echo "$line" >> "$LOG"
}
left() { echo $(( DEADLINE - $(date +%s) )); }
calc() { awk "BEGIN { print $* }"; }  # float arithmetic; bash has none

# phase NAME TIMEOUT_S CMD...: run CMD under a hard timeout, output to logs/NAME.log, then
# into the combined log; record the exit code. TERM makes `train` finish its step and save.
phase() {
    local name=$1 limit=$2; shift 2
    local t=$(date +%s) rc
    say "start $name (hard limit ${limit}s): $*"
    timeout --signal=TERM --kill-after=15 "$limit" "$@" > "$WORK/logs/$name.log" 2>&1
    rc=$?
    printf '%s\t%s\t%s\n' "$name" "$rc" "$(( $(date +%s) - t ))" >> "$PHASES"
    { echo "----- $name (rc $rc) -----"; cat "$WORK/logs/$name.log"; } >> "$LOG"
    tail -n 4 "$WORK/logs/$name.log"
    say "end $name: rc $rc after $(( $(date +%s) - t ))s"
    return "$rc"
}

meta_steps() {  # steps a run's exported checkpoint recorded (empty when there is none)
    [ -f "$1" ] && "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["meta"]["steps"])' "$1" 2>/dev/null
}
meta_seconds() {
    [ -f "$1" ] && "$PY" -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["meta"]["wall_time_s"]))' "$1" 2>/dev/null
}

# common training flags: alex perceptual (the kit carries only AlexNet; the shipped
# checkpoints were trained with it), the shipped rate, bf16 + channels-last are automatic
train_flags() {
    echo --data "$KIT/photos" --image-size "$IMG" --batch "$BATCH" --workers "$WORKERS" --perceptual alex \
        --lr "$LR" --adv-start "$ADV_START" --log-every "$LOG_EVERY" --sample-every "$SAMPLE_EVERY"
}

# evaluate TAG CHECKPOINTS...: the unguided table (checkpoints + telea + ns) and the guided
# one (checkpoint with and without its sketch + telea), side by side: they share a GPU and
# 16 cores easily, and the fixed phases are what eat the training budget
evaluate_pair() {
    local tag=$1 unguided=() guided=() c
    shift
    for c in "$@"; do
        [ -f "$c" ] || { say "note: $c missing, not evaluated ($tag)"; continue; }
        case "$(basename "$c")" in mtsa-guided.pt) guided+=("$c");; *) unguided+=("$c");; esac
    done
    local common=(--data "$EVAL_DIR" --per-bucket 1 --crop "$CROP" --no-fid "${LIMIT[@]}")
    # networks only as explicit --checkpoint (they always get rows, named by their config),
    # never by engine name: a missing new checkpoint must not be replaced by the kit's old one
    phase "eval_$tag" "$EVAL_TIMEOUT" "$PY" main.py evaluate "${common[@]}" --engines telea,ns \
        ${unguided[@]+--checkpoint "${unguided[@]}"} --json "$WORK/eval/$tag.json" &
    local a=$!
    if [ ${#guided[@]} -gt 0 ]; then
        phase "eval_${tag}_guided" "$EVAL_TIMEOUT" "$PY" main.py evaluate "${common[@]}" --engines telea \
            --guided --checkpoint "${guided[@]}" --json "$WORK/eval/${tag}_guided.json"
    fi
    wait "$a"
}

pack_out() {  # checkpoints as files of their own; everything small in one archive (<= 8 files)
    local f n=0
    for f in "$WORK/mtsa/mtsa" "$WORK/const/mtsa-const" "$WORK/guided/mtsa-guided"; do
        [ -f "$f.pt" ] && [ -f "$f.json" ] && cp "$f.pt" "$f.json" "$OUT/" && n=$((n + 1))
    done
    for f in mtsa const guided probe; do  # configs, held-out lists, last sample grid per run
        [ -d "$WORK/$f" ] || continue
        mkdir -p "$WORK/runs/$f"
        cp "$WORK/$f/config.json" "$WORK/$f/holdout.txt" "$WORK/runs/$f/" 2>/dev/null
        ls "$WORK/$f/samples/"*.png >/dev/null 2>&1 && cp "$(ls "$WORK/$f/samples/"*.png | tail -n 1)" "$WORK/runs/$f/"
    done
    cp "$KIT/kit.json" "$WORK/" 2>/dev/null
    cp "$LOG" "$WORK/gpu_pass.log"
    tar -czf "$OUT/results.tar.gz" -C "$WORK" eval logs runs phases.tsv $(cd "$WORK" && ls plan.json probe.json kit.json nvidia-smi.txt gpu_pass.log 2>/dev/null)
    say "packed $n checkpoint(s) and results.tar.gz into $OUT:"
    ls -l "$OUT" | tee -a "$LOG"
}
trap 'say "signal: packing what there is"; pack_out; exit 124' TERM INT
keep() {  # a trained checkpoint goes to $OUT at once: a run killed later (SIGKILL) still returns it
    [ -f "$1.pt" ] && [ -f "$1.json" ] && cp "$1.pt" "$1.json" "$OUT/" && say "kept $(basename "$1") in $OUT"
}

# ----------------------------------------------------------------------------- 0. machine
say "gpu_pass: tiny=$TINY kit=$KIT out=$OUT work=$WORK budget ${BUDGET_S}s (deadline $(date -u -d "@$DEADLINE" +%H:%M:%S 2>/dev/null))"
{ nvidia-smi 2>&1 || echo "nvidia-smi not available"; } | tee "$WORK/nvidia-smi.txt" >> "$LOG"
head -n 12 "$WORK/nvidia-smi.txt"
"$PY" -c 'import torch, os; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "", "cpus", os.cpu_count())' 2>&1 | tee -a "$LOG"
for f in "$KIT/kit.json" "$TEMPERA_STLPIPS_DIR/alex_shift_tolerant.pth" "$WEIGHTS/mtsa.pt" "$WEIGHTS/mtsa-const.pt" "$WEIGHTS/mtsa-guided.pt"; do
    [ -f "$f" ] || { say "error: $f missing: build the kit (python scripts/pack_gpu_kit.py) and carry it"; pack_out; exit 2; }
done
cat "$KIT/kit.json" >> "$LOG"
# model_weights/ travels with the working tree: a kit packed from other checkpoints than the
# shipped ones would continue (and later replace) the wrong networks, so say so loudly
for e in mtsa mtsa-const mtsa-guided; do
    [ -f "model_weights/$e.json" ] || continue
    "$PY" -c 'import json,sys; a,b=(json.load(open(p))["sha256"] for p in sys.argv[1:]); sys.exit(a!=b)' \
        "model_weights/$e.json" "$WEIGHTS/$e.json" 2>/dev/null \
        || say "WARNING: $WEIGHTS/$e.pt is not model_weights/$e.pt: the kit is stale (rebuild it with scripts/pack_gpu_kit.py)"
done
say "settings: image ${IMG}px batch $BATCH workers $WORKERS lr $LR adv-start $ADV_START eval crop $CROP ${LIMIT[*]}"

# ----------------------------------------------------------------------------- 1. before
# GPU_PASS_BEFORE=0 skips it (the installed checkpoints' JSON records a CPU evaluation of
# the same crops and masks) and gives its minute to training; the after-evaluation is then
# planned at GPU_EVAL_S (76 s measured on 4 Dec 2026: the guided table, beside the other)
if [ "${GPU_PASS_BEFORE:-1}" = 0 ]; then
    EVAL_S=${GPU_EVAL_S:-$([ "$TINY" = 1 ] && echo 10 || echo 76)}
    say "before-evaluation skipped (GPU_PASS_BEFORE=0); the after one is planned at ${EVAL_S}s"
else
    t=$(date +%s)
    evaluate_pair before "$WEIGHTS/mtsa.pt" "$WEIGHTS/mtsa-const.pt" "$WEIGHTS/mtsa-guided.pt"
    EVAL_S=$(( $(date +%s) - t ))
fi

# ----------------------------------------------------------------------------- 2. probe
# the same settings as the mtsa run, from the same weights, in a scratch folder
t=$(date +%s)
phase probe "$PROBE_TIMEOUT" "$PY" scripts/train_probe.py --probe-json "$WORK/probe.json" --warmup "$PROBE_WARMUP" -- \
    $(train_flags) --out "$WORK/probe" --init-from "$WEIGHTS/mtsa.pt" --steps "$PROBE_STEPS" --seed 0 \
    --save-every "$BIG" --sample-every 0
PROBE_WALL=$(( $(date +%s) - t ))
RATE=$([ -f "$WORK/probe.json" ] && "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["steps_per_s"])' "$WORK/probe.json" 2>/dev/null)
if [ -n "$RATE" ]; then
    # what a run costs besides its steps: start-up, data preload, first batches, final save
    OVERHEAD=$(calc "int($PROBE_WALL - $PROBE_STEPS / $RATE + 0.5)")
    [ "$OVERHEAD" -lt 8 ] && OVERHEAD=8
    [ "$OVERHEAD" -gt 90 ] && OVERHEAD=90
    say "probe: $(calc "$RATE * $BATCH") images/s ($RATE steps/s) at ${IMG}px batch $BATCH; per-run overhead ~${OVERHEAD}s"
else
    OVERHEAD=$OVERHEAD_DEFAULT
    say "probe gave no rate: runs stop on --time-limit alone; assumed overhead ${OVERHEAD}s"
fi

# ----------------------------------------------------------------------------- 3. plan
# the after-evaluation does the same work as the before one: its time plus slack; 10 s to pack
AFTER_RESERVE=$(( EVAL_S * 11 / 10 + 10 ))
TRAIN_S=$(( $(left) - AFTER_RESERVE - 10 - 3 * OVERHEAD ))
[ "$TRAIN_S" -lt 30 ] && TRAIN_S=30
# mtsa and its ablation share the same step count (the ablation runs ~15 % slower), guided
# the rest: 36 / ~41 / ~23 %. A guided share under GUIDED_MIN_S is not worth a fresh
# optimizer (255 steps on 4 Dec 2026 only lost ground), so then mtsa and the ablation
# share everything, one start-up more to spend
GUIDED_MIN_S=${GPU_GUIDED_MIN_S:-$([ "$TINY" = 1 ] && echo 0 || echo 180)}
GUIDED=1
if [ $(( TRAIN_S * 23 / 100 )) -lt "$GUIDED_MIN_S" ]; then
    GUIDED=0
    TRAIN_S=$(( TRAIN_S + OVERHEAD ))
    T_MTSA=$(( TRAIN_S * 46 / 100 ))
else
    T_MTSA=$(( TRAIN_S * 36 / 100 ))
fi
if [ -n "$RATE" ]; then
    STEPS_MTSA=$(calc "int($RATE * $T_MTSA * 0.97)")
    [ "$STEPS_MTSA" -lt 1 ] && STEPS_MTSA=1
else
    STEPS_MTSA=$BIG
fi
[ "$STEPS_MTSA" -gt "$STEP_CAP" ] && STEPS_MTSA=$STEP_CAP
# the time limit is a guard over the planned steps (the rate drops once D trains at adv-start)
LIMIT_MTSA=$(calc "($T_MTSA * 1.1 + 5) / 60")
printf '{"train_s": %s, "mtsa_s": %s, "steps_mtsa": %s, "rate_steps_per_s": %s, "overhead_s": %s, "batch": %s, "image_size": %s}\n' \
    "$TRAIN_S" "$T_MTSA" "$STEPS_MTSA" "${RATE:-null}" "$OVERHEAD" "$BATCH" "$IMG" > "$WORK/plan.json"
say "plan: ${TRAIN_S}s of training in all: mtsa ${STEPS_MTSA} steps (~${T_MTSA}s, guard ${LIMIT_MTSA} min), mtsa-const the same steps, $([ "$GUIDED" = 1 ] && echo "mtsa-guided what is left" || echo "no mtsa-guided (its share would be under ${GUIDED_MIN_S}s)"); $(left)s to the deadline"

# ----------------------------------------------------------------------------- 4. train
phase train_mtsa $(( T_MTSA * 11 / 10 + OVERHEAD + 60 )) "$PY" main.py train $(train_flags) --out "$WORK/mtsa" \
    --init-from "$WEIGHTS/mtsa.pt" --steps "$STEPS_MTSA" --seed 0 --time-limit "$LIMIT_MTSA"
keep "$WORK/mtsa/mtsa"
REACHED=$(meta_steps "$WORK/mtsa/mtsa.json")
MTSA_S=$(meta_seconds "$WORK/mtsa/mtsa.json")
say "mtsa reached step ${REACHED:-none} in ${MTSA_S:-?}s of training"

# the ablation: same seed, data and step count as mtsa reached. Its --steps ends it at about
# mtsa's time; the limit is only a guard, generous because equal steps matter more here than
# guided's share, yet leaving guided a fifth of the training budget
STEPS_CONST=${REACHED:-$STEPS_MTSA}
# (1.3 x was too short on 4 Dec 2026: the ablation ran at 12-15 steps/s against 18.6)
T_CONST=$(( ${MTSA_S:-$T_MTSA} * 16 / 10 + 10 ))
if [ "$GUIDED" = 1 ]; then
    CAP=$(( $(left) - AFTER_RESERVE - 10 - 2 * OVERHEAD - TRAIN_S / 5 ))
else
    CAP=$(( $(left) - AFTER_RESERVE - 10 - OVERHEAD ))
fi
[ "$T_CONST" -gt "$CAP" ] && T_CONST=$CAP
[ "$T_CONST" -lt 10 ] && T_CONST=10
phase train_const $(( T_CONST + OVERHEAD + 60 )) "$PY" main.py train $(train_flags) --out "$WORK/const" \
    --constant-temperature --init-from "$WEIGHTS/mtsa-const.pt" --steps "$STEPS_CONST" --seed 0 \
    --time-limit "$(calc "$T_CONST / 60")"
keep "$WORK/const/mtsa-const"
CONST_REACHED=$(meta_steps "$WORK/const/mtsa-const.json")
if [ "${CONST_REACHED:-x}" = "${REACHED:-y}" ]; then
    say "mtsa-const reached step $CONST_REACHED, the same as mtsa"
else
    say "WARNING: mtsa-const reached step ${CONST_REACHED:-none}, mtsa ${REACHED:-none}: not a like-for-like ablation"
fi

# guided: whatever is left before the after-evaluation; --steps large, the clock decides
if [ "$GUIDED" = 1 ]; then
    T_GUIDED=$(( $(left) - AFTER_RESERVE - 10 - OVERHEAD ))
    [ "$T_GUIDED" -lt 10 ] && T_GUIDED=10
    STEPS_GUIDED=$BIG; [ "$STEPS_GUIDED" -gt "$STEP_CAP" ] && STEPS_GUIDED=$STEP_CAP
    phase train_guided $(( T_GUIDED + OVERHEAD + 45 )) "$PY" main.py train $(train_flags) --out "$WORK/guided" \
        --guided --sketch-prob 1.0 --init-from "$WEIGHTS/mtsa-guided.pt" --steps "$STEPS_GUIDED" --seed 1 \
        --time-limit "$(calc "$T_GUIDED / 60")"
    keep "$WORK/guided/mtsa-guided"
    say "mtsa-guided reached step $(meta_steps "$WORK/guided/mtsa-guided.json" || echo none)"
fi

# ----------------------------------------------------------------------------- 5. after
evaluate_pair after "$WORK/mtsa/mtsa.pt" "$WORK/const/mtsa-const.pt" "$WORK/guided/mtsa-guided.pt"

# ----------------------------------------------------------------------------- 6. summary
"$PY" - "$WORK/eval" <<'EOF' 2>&1 | tee -a "$LOG"
# ST-LPIPS (lower is better) of the 'all' bucket, before vs after, per engine and variant
import json, sys
from pathlib import Path
folder = Path(sys.argv[1])
def rows(name):
    p = folder / f"{name}.json"
    return {r["engine"]: r for r in json.loads(p.read_text()) if r["bucket"] == "all"} if p.is_file() else {}
for kind in ("", "_guided"):
    before, after = rows("before" + kind), rows("after" + kind)
    for engine in sorted(set(before) | set(after)):
        b, a = before.get(engine, {}).get("lpips"), after.get(engine, {}).get("lpips")
        fmt = lambda v: "-" if v is None else f"{v:.4f}"
        print(f"ST-LPIPS all  {engine:<26} before {fmt(b)}  after {fmt(a)}")
EOF
awk -F'\t' '{ printf "%-20s %5s %8s\n", $1, $2, $3 }' "$PHASES" | tee -a "$LOG"
FAILED=$(awk -F'\t' 'NR > 1 && $2 != 0' "$PHASES" | wc -l)
say "done: $(( $(date +%s) - T0 ))s of ${BUDGET_S}s; $FAILED phase(s) failed"
pack_out
# the device run's rc then says at a glance whether everything went through
[ "$FAILED" -eq 0 ] || exit 1
