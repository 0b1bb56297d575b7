#!/usr/bin/env bash
# The thesis' dialanine experiment (section 7, Fig. 38) on flowmd: the
# aligned replica-exchange dataset (lambda_align 10, on the heavy atoms
# here, the thesis aligned all atoms), the 24x4-block flow of width 256 on
# the heavy atoms, maximum likelihood, then fine-tuning without data at
# lr 1e-5. It prints the phi > 0 fraction of each flow's samples at every
# evaluation.
#
# HYDROGENS=sample (the default) draws the hydrogens from the flow's
# conditional Gaussians (examples/dialanine-sampled-train.yaml, phi > 0
# frames drawn five times as often), the remedy the thesis proposes for
# the placer's bias, and fine-tunes by L^2_+, KLz^df and KLx.
#
# HYDROGENS=place uses the thesis' deterministic placer: the placer alone
# (examples/dialanine-placer-train.yaml), then maximum likelihood on the
# dataset pooled with 2,500 frames sampled inside the phi > 0 basin
# (examples/dialanine-topup-train.yaml; 6.8% of the frames there, as in
# the thesis' dataset), with an independent replica exchange and basin run
# as validation frames; then L^2_+ (500 steps with the rate rising from
# 1e-7 to 1e-5, then 5,500 at 1e-5, gradients clipped at 300) and KLx
# (6,000 steps at 1e-5), evaluated on the five basins every 500 steps.
# The data-free losses aim at U(x^C, G^H(x^C)), the energy with the
# placer's hydrogens: the script samples that target by replica exchange
# (mdrun gendata --placer, TARGET_SAMPLES frames per ladder, default 1500;
# 0 skips it).
# Then the same at lr 2e-6 (L^2_+ after the rising rate, KLx from the
# pre-trained flow), and the hold test: L^2_+ and KLx, HOLD_STEPS (4000;
# 0 skips this part) at 2e-6, both from the L^2_+ flow of the slow run,
# then both from the KLx flow of the slow run.
# STEPS (1000; place: 6000) and EVERY (250; place: 500) set the
# fine-tuning's length and evaluations.
#
#   bash examples/experiments/dialanine.sh [OUT]   (sample: about 40 min
#   on 2 cores; place: about 2 h, 1.5 h more for the slow runs and the
#   hold tests, and about 40 min more for the target;
#   the datasets, pre-trained flows and target are reused when OUT holds
#   them)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-out}
mkdir -p "$out"
outabs=$(cd "$out" && pwd) # the configs it writes need absolute paths
go build -o "$out/mdrun" ./cmd/mdrun
mdrun=$out/mdrun
if [ ! -f "$out/dialanine-heavy.npz" ]; then
  "$mdrun" gendata --max-temperature 800 --rungs 8 --ladders 4 --samples 10000 --thin 200 \
    --align data/systems/dialanine/dialanine.pdb --align-atoms heavy --out "$out/dialanine-heavy.npz" --quiet
fi
case ${HYDROGENS:-sample} in
  sample) pre=dialanine-sampled ;;
  place) pre=dialanine-topup ;;
  *) echo "HYDROGENS=$HYDROGENS: expected sample or place" >&2; exit 2 ;;
esac
align=(--align data/systems/dialanine/dialanine.pdb --align-atoms heavy)
if [ "$pre" = dialanine-topup ]; then
  steps=${STEPS:-6000}
  every=${EVERY:-500}
  if [ "$steps" -le 500 ]; then echo "STEPS=$steps: L^2_+ needs more than its 500 steps of rising rate" >&2; exit 2; fi
  # The placer, the frames inside the phi > 0 basin (a 300/301 K pair of
  # walkers per ladder, which stays in the basin), and validation frames
  # from independent runs.
  if [ ! -f "$out/dialanine-placer.flow.npz" ]; then
    sed "s|\.\./out|$outabs|g; s|\.\./data|$PWD/data|g" examples/dialanine-placer-train.yaml > "$out/dialanine-placer.yaml"
    "$mdrun" train -c "$out/dialanine-placer.yaml" --quiet > "$out/dialanine-placer.txt"
  fi
  basin=(--coords data/systems/dialanine/dialanine-c7ax.pdb --rungs 2 --max-temperature 301 --ladders 4 --equilibration 2000)
  [ -f "$out/dialanine-c7ax-basin.npz" ] || "$mdrun" gendata "${basin[@]}" --samples 625 --thin 800 --seed 11 \
    "${align[@]}" --out "$out/dialanine-c7ax-basin.npz" --quiet
  [ -f "$out/dialanine-c7ax-heldout.npz" ] || "$mdrun" gendata "${basin[@]}" --samples 1000 --thin 200 --seed 12 \
    "${align[@]}" --out "$out/dialanine-c7ax-heldout.npz" --quiet
  [ -f "$out/dialanine-heldout.npz" ] || "$mdrun" gendata --max-temperature 800 --rungs 8 --ladders 4 --samples 2500 --thin 200 \
    --seed 7 "${align[@]}" --out "$out/dialanine-heldout.npz" --quiet
else
  steps=${STEPS:-1000}
  every=${EVERY:-250}
fi
if [ ! -f "$out/$pre.flow.npz" ]; then
  sed "s|\.\./out|$outabs|g; s|\.\./data|$PWD/data|g" "examples/$pre-train.yaml" > "$out/$pre.yaml"
  "$mdrun" train -c "$out/$pre.yaml" --quiet > "$out/$pre.txt"
fi
target_samples=${TARGET_SAMPLES:-1500}
if [ "$pre" = dialanine-topup ] && [ "$target_samples" -gt 0 ] && [ ! -f "$out/dialanine-placer-target.npz" ]; then
  "$mdrun" gendata --max-temperature 800 --rungs 8 --ladders 4 --samples "$target_samples" --thin 200 --equilibration 20000 \
    "${align[@]}" --clip all=1000 --placer "$out/dialanine-placer.flow.npz" \
    --modes dialanine --out "$out/dialanine-placer-target.npz" --quiet > "$out/dialanine-placer-target.txt"
fi
# finetune NAME LOSS LOAD STEPS LR [LR_FINAL CLIP] writes and runs a
# fine-tuning config.
finetune() {
  local extra=""
  [ -n "${6:-}" ] && extra="$extra, lr_final: $6"
  [ -n "${7:-}" ] && extra="$extra, clip: $7"
  local modes=dialanine-phi validation=""
  if [ "$pre" = dialanine-topup ]; then
    modes=dialanine
    validation="validation: {data: [dialanine-heldout.npz, dialanine-c7ax-heldout.npz]}"
  fi
  cat > "$out/$1.yaml" <<YAML
forcefield:
  align: {reference: $PWD/data/systems/dialanine/dialanine.pdb, lambda: 10, atoms: heavy}
  clip: {all: 1000}
temperature: 300
data: dialanine-heavy.npz
$validation
flow: {options: {load: $3.flow.npz}}
loss: {options: {name: $2}}
train: {steps: $4, batch: 256, lr: $5$extra}
evaluate: {every: $every, samples: 10000, modes: $modes}
checkpoint: $every
output: {dir: ., prefix: $1}
YAML
  "$mdrun" train -c "$out/$1.yaml" --quiet > "$out/$1.txt"
}
if [ "$pre" = dialanine-topup ]; then
  # L^2_+ from this flow blows up within 40 steps at 1e-5 (Adam's first
  # steps move every parameter by about the rate at once), and rare samples
  # with gradients of 1e4-1e5 fill Adam's second moments: hence the rising
  # rate and the clip. KLx's gradients stay below 400 without either.
  finetune dialanine-topup-l2plus-warmup l2plus "$pre" 500 1e-7 1e-5 300
  finetune dialanine-topup-l2plus l2plus dialanine-topup-l2plus-warmup $((steps - 500)) 1e-5 "" 300
  finetune dialanine-topup-klx klx "$pre" "$steps" 1e-5
  losses="dialanine-topup-l2plus-warmup dialanine-topup-l2plus dialanine-topup-klx"
  hold=${HOLD_STEPS:-4000}
  if [ "$hold" -gt 0 ]; then
    # At 1e-5 both losses drain C7ax below the target by 10,000 steps. At
    # 2e-6, and from one flow for both, L^2_+ holds it and KLx drains it.
    finetune dialanine-topup-l2plus-slow l2plus dialanine-topup-l2plus-warmup $((steps - 500)) 2e-6 "" 300
    finetune dialanine-topup-klx-slow klx "$pre" "$steps" 2e-6
    finetune dialanine-topup-l2plus-hold l2plus dialanine-topup-l2plus-slow "$hold" 2e-6 "" 300
    finetune dialanine-topup-klx-hold klx dialanine-topup-l2plus-slow "$hold" 2e-6
    finetune dialanine-topup-l2plus-hold2 l2plus dialanine-topup-klx-slow "$hold" 2e-6 "" 300
    finetune dialanine-topup-klx-hold2 klx dialanine-topup-klx-slow "$hold" 2e-6
    losses="$losses dialanine-topup-l2plus-slow dialanine-topup-klx-slow dialanine-topup-l2plus-hold dialanine-topup-klx-hold"
    losses="$losses dialanine-topup-l2plus-hold2 dialanine-topup-klx-hold2"
  fi
  column=mode.C7ax
else
  for loss in l2plus klz_df klx; do
    finetune "dialanine-$loss" "$loss" "$pre" "$steps" 1e-5
  done
  losses="dialanine-l2plus dialanine-klz_df dialanine-klx"
  column="mode.phi>0"
fi
for name in $losses; do
  awk -F, -v name="$name" -v col="$column" '
    NR == 1 { for (i = 1; i <= NF; i++) { if ($i == col) p = i; if ($i == "eval_reverse_ess") e = i }; next }
    $p != "" { line = line sprintf(" %s:%.4f(ESS %.3f)", $1, $p, $e) }
    END { print name " " col line }' "$out/$name.metrics.csv"
done
if [ "$pre" = dialanine-topup ]; then
  reweighted="dialanine-topup-l2plus dialanine-topup-klx"
  [ "$hold" -gt 0 ] && reweighted="$reweighted dialanine-topup-l2plus-hold dialanine-topup-klx-hold dialanine-topup-l2plus-hold2 dialanine-topup-klx-hold2"
  for name in $reweighted; do
    "$mdrun" reweight -c "$out/$name.yaml" --samples 100000 --modes dialanine > "$out/$name-reweight.txt"
    echo "$name, 100,000 samples:"; grep -E "^  (C7ax|alphaL|C5|C7eq|alphaR) " "$out/$name-reweight.txt" | head -5
  done
fi
if [ -f "$out/dialanine-placer-target.txt" ]; then
  echo "target U(x^C, G^H(x^C)) by replica exchange:"; grep -E "^  (C7ax|alphaL|C5|C7eq|alphaR|phi)" "$out/dialanine-placer-target.txt"
fi
