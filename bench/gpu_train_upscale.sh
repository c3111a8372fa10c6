#!/usr/bin/env bash
# The prepared GPU training run for the upscaling models (issue 29): a warm start from the
# bundled model, sized to a few minutes of a CUDA GPU, its result exported and scored beside
# the bundled model. Nothing depends on it; on a CPU it stops at once.
#
# Here, before (the device machine reaches no network and takes 64 MiB with it, the checkout's
# 18 included: 34 MiB of tiles, 1.4 of development tiles and 7.3 of wheels fit):
#   python bench/pack_gpu_tiles.py --tiles /work/data/train-tiles-2 --out data/gpu-tiles
#   python ../shared/tools/check_reserved.py data/gpu-tiles      # must list none
#   cp -r /work/data/sr-dev data/sr-dev                          # the development tiles
#   python -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#       --implementation cp --platform manylinux_2_17_x86_64 -d .whl kornia kornia-rs
# On the device (carry data/gpu-tiles, data/sr-dev and .whl):
#   bash bench/gpu_train_upscale.sh [SCALE] [MINUTES]      (default 2 and 6)
#
# It writes into $OUT (default gpu-upscale): upscale-xSCALE.safetensors (the new weights, to
# check here and ship with scripts/export_model.py's record), train.log, and dev-bundled.json /
# dev-new.json (bench/upscale.py on data/sr-dev). Environment: BATCH (64), CROP (128 at x2,
# 192 at x4), LR (2e-4), WORKERS (12).
set -uo pipefail
scale="${1:-2}"
minutes="${2:-6}"
out="${OUT:-gpu-upscale}"
data=data/gpu-tiles
dev=data/sr-dev
batch="${BATCH:-64}"
crop="${CROP:-$((scale == 2 ? 128 : 192))}"
lr="${LR:-2e-4}"
workers="${WORKERS:-12}"
mkdir -p "$out"

if [ -d .whl ]; then  # packages the device image lacks (kornia)
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
fi
python3 -m pip install -q --no-index --no-deps --no-build-isolation -e . > "$out/install.log" 2>&1 \
    || { echo "gpu_train_upscale: could not install the checkout (see install.log)" >&2; exit 2; }
if ! python3 -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu_train_upscale: PyTorch sees no CUDA GPU here: nothing trained." >&2
    exit 2
fi
if [ ! -d "$data/clean" ]; then
    echo "gpu_train_upscale: no $data/clean: pack it with bench/pack_gpu_tiles.py and carry it" >&2
    exit 2
fi

task="upscale-x$scale"
common=(--data "$data" --set data.workers="$workers" --set data.batch_size="$batch"
    --set data.crop="$crop" --set validate_every=1000000 --set checkpoint_every=1000
    --set optim.lr_g="$lr" --set log_every=50)

# 1. A short probe for the pace of this GPU and data loader; the run's cosine must end in time.
python3 -m ganrestore train "$task" "${common[@]}" --out /tmp/probe --init "$task" --steps 400 \
    > "$out/probe.log" 2>&1
rate=$(grep -o '[0-9.]* it/s' "$out/probe.log" | tail -n 1 | cut -d' ' -f1)
if [ -z "$rate" ]; then
    echo "gpu_train_upscale: the probe did not train (probe.log):" >&2
    tail -n 20 "$out/probe.log" >&2
    exit 1
fi
steps=$(python3 -c "print(max(500, int($rate * ($minutes * 60 - 45) * 0.9)))")
echo "gpu_train_upscale: $rate it/s on $(python3 -c 'import torch; print(torch.cuda.get_device_name(0))'): $steps steps of batch $batch, crop $crop"

# 2. The run: from the bundled model, cosine to 0; --time stops it cleanly should it run late.
python3 -m ganrestore train "$task" "${common[@]}" --out /tmp/run --init "$task" \
    --steps "$steps" --set seed=50 --time "$((minutes + 2))m" > "$out/train.log" 2>&1
tail -n 5 "$out/train.log"
python3 scripts/export_model.py /tmp/run "$out/$task.safetensors" --name "$task" \
    || { echo "gpu_train_upscale: export failed" >&2; exit 1; }

# 3. Scored beside the bundled model on the development tiles, when they came along.
if [ -d "$dev" ]; then
    for which in bundled new; do
        model=$([ "$which" = new ] && echo "$out/$task.safetensors" || echo "$task")
        python3 bench/upscale.py --scale "$scale" --photos "$dev" --jpeg 75 --no-speed \
            --model "$model" > "$out/dev-$which.json" 2> "$out/dev-$which.err"
    done
    python3 - "$out" <<'PY'
import json, sys
from pathlib import Path

for which in ("bundled", "new"):
    try:
        report = json.loads((Path(sys.argv[1]) / f"dev-{which}.json").read_text())
    except (OSError, ValueError):
        print(which, "not scored")
        continue
    print(which, json.dumps({k: report.get(k, {}).get("means") for k in ("quality", "jpeg")}))
PY
fi
