#!/bin/bash
# Writes Conveyor's exports for a set of plans and runs each engine's own parser or config classes over them.
# usage: scripts/engines/check-all.sh SOURCES_DIR   (SOURCES_DIR holds checkouts named NVIDIA+Megatron-LM,
#        deepspeedai+DeepSpeed and pytorch+torchtitan); PYTHON picks the interpreter (default: the repo's .venv);
#        TORCHTITAN_V022_JOB_CONFIG names torchtitan v0.2.2's torchtitan/config/job_config.py to check plan.toml too.
# Prints, per plan and engine, what the engine's code said; exits non-zero if any engine refused an export.
set -u -o pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
sources=$1
python=${PYTHON:-$repo/.venv/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
git_v022=${TORCHTITAN_V022_JOB_CONFIG:-}

# Writes the files of one export into a folder (from --json), or prints conveyor's refusal and fails.
write_files() { # folder, conveyor arguments...
  local folder=$1; shift
  mkdir -p "$folder"
  node "$repo/bin/conveyor.js" "$@" --json >"$folder/export.json" 2>"$folder/error" || { echo "   conveyor refused: $(cat "$folder/error")"; return 1; }
  node -e 'const b=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); for (const f of b.files) require("fs").writeFileSync(process.argv[2]+"/"+f.name, f.text)' "$folder/export.json" "$folder"
}

# name | model | gpu | gpus | parallel JSON | precision | fp32 gradients
cases=(
  "70b-zb-plan|llama3-70b|h100-sxm|64|PLAN|bf16|true"
  "70b-fsdp3-full|llama3-70b|h100-sxm|64|{\"tp\":4,\"pp\":4,\"microBatchSize\":1,\"globalBatchSize\":512,\"recompute\":\"full\",\"zero\":3}|bf16|true"
  "70b-fsdp2-fp8-tp8|llama3-70b|h100-sxm|64|{\"tp\":8,\"pp\":1,\"microBatchSize\":1,\"globalBatchSize\":512,\"recompute\":\"full\",\"zero\":2}|fp8|true"
  "405b-uneven-1f1b|llama3-405b|h100-sxm|128|{\"tp\":8,\"pp\":16,\"microBatchSize\":1,\"globalBatchSize\":128,\"recompute\":\"full\",\"zero\":0}|bf16|true"
  "175b-interleaved-selective-bf16grads|gpt3-175b|a100-80gb|512|{\"tp\":8,\"pp\":8,\"microBatchSize\":1,\"globalBatchSize\":1536,\"schedule\":\"interleaved-1f1b\",\"virtualStages\":3,\"recompute\":\"selective\",\"zero\":1,\"flashAttention\":false}|bf16|false"
  "13b-fp16-tp2|llama2-13b|a100-80gb|16|{\"tp\":2,\"pp\":1,\"microBatchSize\":2,\"globalBatchSize\":256,\"recompute\":\"full\",\"zero\":1}|fp16|false"
  "70b-deepspeed-pipeline|llama3-70b|h100-sxm|64|{\"tp\":1,\"pp\":8,\"microBatchSize\":1,\"globalBatchSize\":512,\"recompute\":\"full\",\"zero\":1,\"sequenceParallel\":false}|bf16|true"
  "70b-autotp-zero3|llama3-70b|h100-sxm|64|{\"tp\":8,\"pp\":1,\"microBatchSize\":1,\"globalBatchSize\":512,\"recompute\":\"full\",\"zero\":3,\"sequenceParallel\":false}|bf16|true"
  "8b-b200-tp4|llama3-8b|b200|8|{\"tp\":4,\"pp\":1,\"microBatchSize\":1,\"globalBatchSize\":64,\"recompute\":\"none\",\"zero\":1}|bf16|true"
)

for entry in "${cases[@]}"; do
  IFS='|' read -r name model gpu gpus parallel precision fp32 <<<"$entry"
  dir=$work/$name
  mkdir -p "$dir"
  if [ "$parallel" = PLAN ]; then
    node "$repo/bin/conveyor.js" plan --model "$model" --gpu "$gpu" --gpus "$gpus" --global-batch 512 --seq-len 4096 \
      --export megatron >"$dir/launch.sh"
  else
    echo "{\"model\":\"$model\",\"cluster\":{\"gpu\":\"$gpu\",\"gpus\":$gpus},\"parallel\":$parallel,\"precision\":\"$precision\",\"fp32Gradients\":$fp32}" >"$dir/plan.json"
    if ! node "$repo/bin/conveyor.js" estimate --config "$dir/plan.json" --export megatron >"$dir/launch.sh" 2>"$dir/error"; then
      echo "== $name megatron: conveyor refused: $(cat "$dir/error")"; continue
    fi
  fi
  arch=9
  [ "$gpu" = b200 ] && arch=10
  echo "== $name megatron"
  if ! "$python" "$here/check-megatron.py" "$sources/NVIDIA+Megatron-LM" "$dir/launch.sh" --arch "$arch" 2>"$dir/stderr" \
      | grep -E '^(parse_args|validate_args|TransformerConfig):'; then
    status=1; grep -E 'Error|assert' "$dir/stderr" | tail -3
  fi
  if [ "$parallel" = PLAN ]; then
    source_args=(plan --model "$model" --gpu "$gpu" --gpus "$gpus" --global-batch 512 --seq-len 4096 --export)
  else
    source_args=(estimate --config "$dir/plan.json" --export)
  fi
  echo "== $name deepspeed"
  if write_files "$dir/deepspeed" "${source_args[@]}" deepspeed; then
    "$python" "$here/check-deepspeed.py" "$sources/deepspeedai+DeepSpeed" "$dir/deepspeed" "$gpus" 2>&1 | tail -4 || status=1
  fi
  echo "== $name torchtitan"
  if write_files "$dir/torchtitan" "${source_args[@]}" torchtitan; then
    toml=()
    if [ -n "$git_v022" ] && write_files "$dir/toml" "${source_args[@]}" torchtitan-toml; then
      cp "$dir/toml/plan.toml" "$dir/torchtitan/"
      toml=(--toml "$git_v022")
    fi
    "$python" "$here/check-torchtitan.py" "$sources/pytorch+torchtitan" "$dir/torchtitan" "${toml[@]}" 2>&1 \
      | grep -E '^(.*\(\): |pipeline:|trainer.py|overrides:|v0.2.2|.*Error)' || status=1
  fi
done
exit $status
