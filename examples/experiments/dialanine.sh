#!/usr/bin/env bash
# The thesis' dialanine experiment (section 7, Fig. 38) on flowmd: the
# aligned replica-exchange dataset (lambda_align 10, on the heavy atoms
# here, the thesis aligned all atoms), the 24x4-block flow of width 256 on
# the heavy atoms, maximum likelihood with the phi > 0 frames drawn five
# times as often (about 6% of the flow's mass there, the thesis dataset's
# own ratio), then fine-tuning without data by L^2_+, KLz^df and KLx at lr
# 1e-5. It prints the phi > 0 fraction of each flow's samples at every
# evaluation.
#
# HYDROGENS=sample (the default) draws the hydrogens from the flow's
# conditional Gaussians (examples/dialanine-sampled-train.yaml), the remedy
# the thesis proposes for the placer's bias; HYDROGENS=place uses the
# thesis' deterministic placer (examples/dialanine-proposal-train.yaml).
# STEPS (1000) and EVERY (250) set the fine-tuning's length and evaluations.
#
# With the placer, the data-free losses aim at U(x^C, G^H(x^C)), the energy
# with the placer's hydrogens, not at the data: the script samples that
# target by replica exchange (mdrun gendata --placer, TARGET_SAMPLES frames
# per ladder, default 1500; 0 skips it) and estimates it by importance
# sampling with the pre-trained flow, and prints its phi > 0 fraction
# beside the losses'.
#
#   bash examples/experiments/dialanine.sh [OUT]   (about 40 min on 2 cores,
#   and about 40 min more for the placer's target; the dataset, the
#   pre-trained flow and the target are reused when OUT holds them)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-out}
mkdir -p "$out"
go build -o "$out/mdrun" ./cmd/mdrun
mdrun=$out/mdrun
if [ ! -f "$out/dialanine-heavy.npz" ]; then
  "$mdrun" gendata --max-temperature 800 --rungs 8 --ladders 4 --samples 10000 --thin 200 \
    --align data/systems/dialanine/dialanine.pdb --align-atoms heavy --out "$out/dialanine-heavy.npz" --quiet
fi
case ${HYDROGENS:-sample} in
  sample) pre=dialanine-sampled ;;
  place) pre=dialanine-proposal ;;
  *) echo "HYDROGENS=$HYDROGENS: expected sample or place" >&2; exit 2 ;;
esac
steps=${STEPS:-1000}
every=${EVERY:-250}
if [ ! -f "$out/$pre.flow.npz" ]; then
  sed "s|\.\./out|$PWD/$out|g" "examples/$pre-train.yaml" > "$out/$pre.yaml"
  "$mdrun" train -c "$out/$pre.yaml" --quiet > "$out/$pre.txt"
fi
target_samples=${TARGET_SAMPLES:-1500}
if [ "$pre" = dialanine-proposal ] && [ "$target_samples" -gt 0 ] && [ ! -f "$out/dialanine-placer-target.npz" ]; then
  "$mdrun" gendata --max-temperature 800 --rungs 8 --ladders 4 --samples "$target_samples" --thin 200 --equilibration 20000 \
    --align data/systems/dialanine/dialanine.pdb --align-atoms heavy --clip all=1000 --placer "$out/$pre.flow.npz" \
    --modes dialanine-phi --out "$out/dialanine-placer-target.npz" --quiet > "$out/dialanine-placer-target.txt"
fi
if [ "$pre" = dialanine-proposal ]; then
  "$mdrun" reweight -c "$out/$pre.yaml" --samples 100000 --modes dialanine-phi > "$out/dialanine-placer-target-is.txt"
fi
for loss in l2plus klz_df klx; do
  cat > "$out/dialanine-$loss.yaml" <<YAML
forcefield:
  align: {reference: $PWD/data/systems/dialanine/dialanine.pdb, lambda: 10, atoms: heavy}
  clip: {all: 1000}
temperature: 300
data: dialanine-heavy.npz
flow: {options: {load: $pre.flow.npz}}
loss: {options: {name: $loss}}
train: {steps: $steps, batch: 256, lr: 1e-5}
evaluate: {every: $every, samples: 4000, modes: dialanine-phi}
output: {dir: ., prefix: dialanine-$loss}
YAML
  "$mdrun" train -c "$out/dialanine-$loss.yaml" --quiet > "$out/dialanine-$loss.txt"
done
for loss in l2plus klz_df klx; do
  awk -F, -v name="$loss" '
    NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "mode.phi>0") p = i; if ($i == "eval_reverse_ess") e = i }; next }
    $p != "" { line = line sprintf(" %s:%.4f(ESS %.3f)", $1, $p, $e) }
    END { print name " phi>0" line }' "$out/dialanine-$loss.metrics.csv"
done
if [ -f "$out/dialanine-placer-target.txt" ]; then
  echo "target U(x^C, G^H(x^C)) by replica exchange:"; grep -E "phi[<>]0" "$out/dialanine-placer-target.txt"
fi
if [ -f "$out/dialanine-placer-target-is.txt" ]; then
  echo "the same target by importance sampling with the pre-trained flow:"; cat "$out/dialanine-placer-target-is.txt"
fi
