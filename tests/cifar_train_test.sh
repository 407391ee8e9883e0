#!/usr/bin/env bash
# End to end on colour images: ember-mnist trains torchvision's ResNet-18
# (CIFAR stem) with the CIFAR recipe (SGD nesterov, one-cycle, crop and
# flip) on synthetic files in CIFAR-10's binary format
# (scripts/make_synthetic_cifar.py), and the loss falls. Then eval: the
# model file carries its config; the same tensors without it are recognised
# as resnet18 from their names and shapes; a wrong --model is a clear error.
# Last, a CIFAR run stopped mid-epoch resumes to the same weights.
# No accuracy is claimed: the images are made up (docs/training.md).
set -euo pipefail
bin=$1
python=${2:-python3}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$python" "$root/scripts/make_synthetic_cifar.py" "$work/cifar-10-batches-bin" --train 64 --test 32 --seed 1
# Two batches an epoch, four epochs: eight steps.
"$bin" train --dataset cifar10 --data-dir "$work" --batch-size 32 --epochs 4 --lr 0.05 --seed 0 \
  --out "$work/run" > "$work/train.log"
grep -m1 "resnet18 (11173962 parameters) on cifar10" "$work/train.log" ||
  { cat "$work/train.log"; echo "FAIL: the startup line does not name the CIFAR-stem resnet18 on cifar10"; exit 1; }
grep -q "data: 64 train / 32 test images" "$work/train.log" || { echo "FAIL: wrong image counts"; exit 1; }
first=$(sed -n 2p "$work/run/metrics.csv" | cut -d, -f3)
last=$(tail -n 1 "$work/run/metrics.csv" | cut -d, -f3)
echo "training loss: epoch 1 $first, epoch 4 $last (must fall below 0.7 x)"
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < 0.7 * a) }' || { echo "FAIL: the loss did not fall"; exit 1; }
for f in report.html filters.svg confusion.svg model.safetensors checkpoint.safetensors; do
  [ -s "$work/run/$f" ] || { echo "FAIL: the run wrote no $f"; exit 1; }
done

# eval: the file's config names model, dataset and data dir.
"$bin" eval "$work/run/model.safetensors" | tee "$work/eval.log"
grep -q "resnet18 on cifar10 test" "$work/eval.log" || { echo "FAIL: eval did not take the file's config"; exit 1; }
# The same tensors with no metadata, as PyTorch would write them.
"$python" - "$root/tests" "$work/run/model.safetensors" "$work/bare.safetensors" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import safetensors_tool as st
tensors, metadata = st.read(sys.argv[2])
st.write(sys.argv[3], tensors)
EOF
"$bin" eval "$work/bare.safetensors" --dataset cifar10 --data-dir "$work" | tee "$work/bare.log"
grep -q "model: resnet18 (the file's 122 tensors fit it" "$work/bare.log" || { echo "FAIL: not inferred"; exit 1; }
diff <(tail -n 1 "$work/eval.log") <(tail -n 1 "$work/bare.log") || { echo "FAIL: a different result"; exit 1; }
if "$bin" eval "$work/bare.safetensors" --dataset cifar10 --data-dir "$work" --model cnn 2> "$work/err.log"; then
  echo "FAIL: --model cnn loaded resnet18's tensors"; exit 1
fi
grep -q "missing keys" "$work/err.log" || { cat "$work/err.log"; echo "FAIL: no clear error"; exit 1; }
# Resume is exact on CIFAR too: the crop and flip of every image are drawn
# from (seed, epoch, index). Stopped mid-epoch (step 3 of 2 a epoch), then
# resumed: the same weights, byte for byte, as the run never stopped.
common=(--dataset cifar10 --data-dir "$work" --model cnn --batch-size 32 --epochs 3 --seed 3 --out "$work/resume")
"$bin" train "${common[@]}" > /dev/null
mv "$work/resume" "$work/straight"
"$bin" train "${common[@]}" --max-steps 3 > /dev/null
"$bin" train "${common[@]}" --resume > "$work/resume.log"
grep -q "resumed from .* (step 3)" "$work/resume.log" || { grep resumed "$work/resume.log"; echo "FAIL: no resume"; exit 1; }
cmp "$work/straight/model.safetensors" "$work/resume/model.safetensors" ||
  { echo "FAIL: a resumed CIFAR run ends with other weights"; exit 1; }
echo "PASS"
