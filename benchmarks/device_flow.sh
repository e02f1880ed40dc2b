#!/usr/bin/env bash
# A tf_keras.applications MobileNetV2 through the device flow, timed step by step:
# register, export its segments (end and server formats), time them with `cnnpc profile device`
# from a runtime-only install (no TensorFlow), import the results as a device profile, search
# on it, deploy the best plan, and serve and query it from the runtime-only install.
#
#   RUNTIME=/path/to/runtime-venv bash benchmarks/device_flow.sh [WORKDIR]
#
# `cnnpc` on PATH is the full install (the workstation); $RUNTIME/bin/cnnpc the device's, made
# with `pip install .` (no extras). WORKDIR (default: a new temporary folder) holds everything,
# with its own results/ and profiles, so nothing of the caller's is touched.
set -euo pipefail
: "${RUNTIME:?set RUNTIME to a runtime-only virtual environment}"
work="${1:-$(mktemp -d)}"
mkdir -p "$work"
cd "$work"
export CNNPC_MODELS="$work/models" CNNPC_PROFILES="$work/profiles"
device="$RUNTIME/bin/cnnpc"
step() {  # step NAME COMMAND...: run it, print its wall time
  local began
  began=$(date +%s.%N)
  "${@:2}"
  printf 'STEP %-28s %8.1f s\n' "$1" "$(echo "$(date +%s.%N) - $began" | bc)" >&2
}

"$RUNTIME/bin/python" -c "import tensorflow" 2>/dev/null && { echo "TensorFlow is importable in $RUNTIME" >&2; exit 1; }
step "models add" cnnpc models add mnv2 --app MobileNetV2 --train-size 32 \
  --candidates block_2_add,block_5_add,block_9_add,block_12_add,block_15_add,out_relu
step "profile export (end)" cnnpc profile export --model mnv2 --out export_end --tier end --keep-fractions 1,0.5,0.25
step "profile export (edge)" cnnpc profile export --model mnv2 --out export_edge --tier edge --keep-fractions 1,0.5,0.25
step "profile device (end)" "$device" profile device export_end
step "profile device (edge)" "$device" profile device export_edge
step "profile import" cnnpc profile import --model mnv2 --device board --end export_end --edge export_edge --cloud export_edge
# this host is a fast "board": at 32x32 the whole model on it wins (1.7 ms), so a 1 MB limit on
# what the end device holds (--end-memory) sends the rest to the servers
step "search" cnnpc search --model mnv2 --device board --bandwidth 10 --acc-floor 0.9 --trials 12 \
  --end-memory "${END_MEMORY_MB:-1}" --storage "sqlite:///$work/s.db"
step "deploy" cnnpc deploy 1 --out plan --storage "sqlite:///$work/s.db"
tiers=$(python -c "import json; print(' '.join(sorted({l['to'] for l in json.load(open('plan/plan.json'))['links']})))")
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
listening() {  # listening FILE: the port a server printed (waits for its line, at most 30 s)
  for _ in $(seq 300); do grep -q serving "$1" 2>/dev/null && break; sleep 0.1; done
  grep -o '[0-9]*$' "$1"
}
next=()
if [[ " $tiers " == *" cloud "* ]]; then
  "$device" serve --role cloud --plan plan --port 0 > cloud.out & pids+=($!)
  next=(--next "127.0.0.1:$(listening cloud.out)")
fi
edge=()
if [[ " $tiers " == *" edge "* ]]; then
  "$device" serve --role edge --plan plan --port 0 "${next[@]}" > edge.out & pids+=($!)
  edge=(--edge "127.0.0.1:$(listening edge.out)")
fi
if [[ ${#edge[@]} == 0 && ${#next[@]} == 2 ]]; then edge=(--edge "${next[1]}"); fi  # end -> cloud
echo "tiers served: ${tiers:-none}" >&2
python - <<'PY'  # 50 test digits as PNG files (the runtime-only install has no scikit-learn)
from pathlib import Path
import numpy as np
from PIL import Image
from sklearn.datasets import load_digits
d = load_digits()
Path("images").mkdir()
for i in range(50):
    pixels = (d.images[-1 - i] * (255 / 16)).round().astype(np.uint8)
    Image.fromarray(pixels).convert("RGB").save(f"images/{i:02d}_label{d.target[-1 - i]}.png")
PY
step "infer (runtime-only)" "$device" infer --plan plan "${edge[@]}" images/*.png
