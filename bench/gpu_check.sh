#!/usr/bin/env bash
# The prepared GPU check (issue 17): run it from the repository root whenever a CUDA GPU is at
# hand, e.g. on the device machine; it takes about 5 minutes and stops every part at a time
# limit, so it always finishes within 8. Nothing else depends on a GPU.
#
#   bash bench/gpu_check.sh [OUT_DIR]      (default OUT_DIR: gpu-check; $OUT if set)
#
# It writes one JSON per part into OUT_DIR and prints a summary:
#   cuda-tests.txt     the CUDA tests (tests/test_cuda.py, tests/test_devices.py), pass / fail
#   train-speed.json   the pix2pix training step on the GPU: ganrestore against the reference
#   speed.json         the ready denoise config: training images/s, inference MP/s, GFLOP/s,
#                      peak GPU memory
#   apply-speed.json   `ganrestore apply` on 1 and 12 MP photos on the GPU against the bare
#                      forward, with peak memory; also with tiles of 2048 (larger passes may
#                      pay on a GPU)
set -uo pipefail
out="${1:-${OUT:-gpu-check}}"
mkdir -p "$out"
if ! python -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu_check: PyTorch sees no CUDA GPU here: nothing checked. Run it on a machine with one." >&2
    exit 2
fi
python -c "import torch; print('gpu_check:', torch.cuda.get_device_name(0), 'torch', torch.__version__)"
start=$SECONDS
status=0

part() {  # part NAME LIMIT_SECONDS COMMAND...: run COMMAND with a time limit, note its result
    local name=$1 limit=$2
    shift 2
    echo "gpu_check: $name (at most ${limit} s)"
    if ! timeout "$limit" "$@"; then
        echo "gpu_check: $name FAILED or ran out of time" >&2
        status=1
    fi
}

part cuda-tests 150 python -m pytest -q -p no:cacheprovider tests/test_cuda.py tests/test_devices.py \
    > "$out/cuda-tests.txt" 2>&1
tail -n 3 "$out/cuda-tests.txt"
part train-speed 90 python bench/train_speed.py --config configs/pix2pix.toml --device cuda \
    --steps 20 > "$out/train-speed.json"
part speed 90 python bench/speed.py --task denoise --device cuda --size 256 --batch 16 \
    --steps 20 --infer-size 1024 --infer-batch 4 --out "$out/speed.json" > /dev/null
part apply-speed 150 python bench/apply_speed.py --model denoise --device cuda --sizes 1,12 \
    --repeats 2 --compare 2048,32 > "$out/apply-speed.json"

python - "$out" <<'PY'
import json, sys
from pathlib import Path

out = Path(sys.argv[1])
def read(name):
    try:
        return json.loads((out / name).read_text())
    except (OSError, ValueError):
        return None

train, speed, apply = read("train-speed.json"), read("speed.json"), read("apply-speed.json")
summary = {}
if train:
    summary["train_speed"] = {
        "speedup_vs_reference": train.get("speedup_vs_reference"),
        "ganrestore_steps_per_s": train.get("ganrestore", {}).get("steps_per_s"),
        "reference_steps_per_s": train.get("reference", {}).get("steps_per_s"),
    }
if speed:
    summary["speed"] = {k: speed.get(k) for k in ("train", "inference", "memory", "gpu")}
if apply:
    summary["apply"] = [
        {"megapixels": row["megapixels"], "apply_mp_s": row["default"]["megapixels_per_s"],
         "forward_mp_s": row["forward_megapixels_per_s"], "ratio": row["default"]["ratio"]}
        for row in apply["sizes"]
    ]
print(json.dumps(summary, indent=2))
PY
echo "gpu_check: done in $((SECONDS - start)) s; results in $out"
exit $status
