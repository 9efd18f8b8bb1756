#!/usr/bin/env bash
# Submits a sharded `harness run` to Slurm: (train job →) array job of N shards → merge job,
# chained with --dependency=afterok. See --help and docs/scale-out.md.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/../.." && pwd)"
PROG="scripts/slurm/submit.sh"

usage() {
  cat <<EOF
Usage: $PROG SUITE.yaml --shards N [options]

Submits a sharded evaluation of SUITE to Slurm as up to three chained jobs:
  1. train  (harness_train.sbatch): \`harness run SUITE --train-only\` (skip with --no-train)
  2. shards (harness_array.sbatch): an array 0..N-1, task K runs \`harness run SUITE --shard auto\`
  3. merge  (harness_merge.sbatch): \`harness merge\` of the N shard run directories
Each job starts only after the previous one completed successfully (afterok); if one fails,
the jobs after it are cancelled. Jobs run in the repo root ($REPO).

Every submission gets its own directory OUT/<suite name>-<UTC time>/ holding
  shards/   the shard run directories (shards/<suite name>/<time>-<hash>-shard-KofN/)
  merged/   the merged run directory  (merged/<suite name>/<time>-<hash>-merged/)
  logs/     the jobs' Slurm output (%x-%A_%a.out, %x-%j.out)
  merged_run_dir  the merged run directory's path, written by the merge job when it succeeds
  jobs.env  the job ids and paths (shell syntax); submission.txt the sbatch commands used

Options:
  --shards N            number of shards (array tasks), N >= 1                        [required]
  --partition P         Slurm partition (default: the cluster's default partition)
  --gpus-per-task G     GPUs for each train/shard job (sbatch --gpus-per-task; needs a
                        GPU build of harness and GRES configured on the cluster)
  --time T              time limit of each job, in any sbatch --time format (e.g. 2:00:00)
  --cpus-per-task C     CPUs of each job; the harness gets --threads C (default 1)
  --mem M               memory of each job (sbatch --mem, e.g. 16G)
  --max-parallel K      run at most K shards at once (--array=0-(N-1)%K)
  --out DIR             parent of the submission directory, on a filesystem every node sees
                        (default: $REPO/results/slurm)
  --train-dir DIR       training cache (harness --train-dir), shared by the train and shard
                        jobs (default: the harness's own, results/train in the repo)
  --no-train            do not submit the train job (the suite trains nothing, or its models
                        are already cached)
  --sbatch-arg ARG      extra argument for every sbatch call, e.g. --sbatch-arg=--account=abc
                        (repeatable)
  --dry-run             print the sbatch commands, submit nothing, create nothing
  -h, --help            this help

Environment:
  HARNESS_BIN  the harness binary the jobs run (default: target/release/harness in the repo);
               it must be reachable at the same path on the compute nodes
  SBATCH       the sbatch command (default: sbatch)

Example:
  $PROG suites/rq4_robustness.yaml --shards 8 --partition gpu --gpus-per-task 1 \\
      --cpus-per-task 8 --time 4:00:00 --out /shared/\$USER/harness

Exit status: 0 submitted, 2 usage error (nothing submitted), other: sbatch failed.
EOF
}

die_usage() {
  echo "$PROG: $*" >&2
  echo "Try '$PROG --help'." >&2
  exit 2
}

suite=""
shards=""
partition=""
gpus=""
time_limit=""
cpus=""
mem=""
max_parallel=""
out=""
train_dir=""
train=1
dry_run=0
extra=()

# Accepts both `--opt value` and `--opt=value`.
while [ $# -gt 0 ]; do
  arg="$1"
  case "$arg" in
    --*=*) opt="${arg%%=*}"; val="${arg#*=}"; has_val=1 ;;
    *) opt="$arg"; val=""; has_val=0 ;;
  esac
  case "$opt" in
    -h|--help) usage; exit 0 ;;
    --shards|--partition|--gpus-per-task|--time|--cpus-per-task|--mem|--max-parallel|--out|--train-dir|--sbatch-arg)
      if [ "$has_val" = 0 ]; then
        [ $# -ge 2 ] || die_usage "$opt needs a value"
        val="$2"; shift
      fi
      case "$opt" in
        --shards) shards="$val" ;;
        --partition) partition="$val" ;;
        --gpus-per-task) gpus="$val" ;;
        --time) time_limit="$val" ;;
        --cpus-per-task) cpus="$val" ;;
        --mem) mem="$val" ;;
        --max-parallel) max_parallel="$val" ;;
        --out) out="$val" ;;
        --train-dir) train_dir="$val" ;;
        --sbatch-arg) extra+=("$val") ;;
      esac
      ;;
    --no-train) [ "$has_val" = 0 ] || die_usage "--no-train takes no value"; train=0 ;;
    --dry-run) [ "$has_val" = 0 ] || die_usage "--dry-run takes no value"; dry_run=1 ;;
    --) shift; [ $# -gt 0 ] && { [ -z "$suite" ] || die_usage "more than one SUITE: '$suite' and '$1'"; suite="$1"; shift; }; [ $# -eq 0 ] || die_usage "unexpected argument '$1'"; break ;;
    -*) die_usage "unknown option '$arg'" ;;
    *)
      [ -z "$suite" ] || die_usage "more than one SUITE: '$suite' and '$arg'"
      suite="$arg"
      ;;
  esac
  shift
done

# ---- validation (exit 2, nothing submitted) ----
[ -n "$suite" ] || die_usage "missing SUITE (a suite YAML file, e.g. suites/smoke.yaml)"
[ -n "$shards" ] || die_usage "missing --shards N"
[[ "$shards" =~ ^[1-9][0-9]*$ ]] || die_usage "--shards must be a positive integer, got '$shards'"
[ -z "$gpus" ] || [[ "$gpus" =~ ^[1-9][0-9]*$ ]] || [[ "$gpus" =~ ^[A-Za-z0-9_.-]+:[1-9][0-9]*$ ]] \
  || die_usage "--gpus-per-task must be a positive integer or TYPE:COUNT, got '$gpus'"
[ -z "$cpus" ] || [[ "$cpus" =~ ^[1-9][0-9]*$ ]] || die_usage "--cpus-per-task must be a positive integer, got '$cpus'"
[ -z "$max_parallel" ] || [[ "$max_parallel" =~ ^[1-9][0-9]*$ ]] \
  || die_usage "--max-parallel must be a positive integer, got '$max_parallel'"
# sbatch --time formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S, or UNLIMITED/INFINITE.
[ -z "$time_limit" ] || [[ "$time_limit" =~ ^([0-9]+-)?[0-9]+(:[0-9]+){0,2}$ ]] || [[ "$time_limit" =~ ^(UNLIMITED|INFINITE|unlimited|infinite)$ ]] \
  || die_usage "--time must be an sbatch time (M, H:M:S, D-H:M:S, ...), got '$time_limit'"
[ -z "$mem" ] || [[ "$mem" =~ ^[0-9]+[KMGT]?$ ]] || die_usage "--mem must be like 16G or 4000M, got '$mem'"
[ -z "$partition" ] || [[ "$partition" =~ ^[A-Za-z0-9_.,-]+$ ]] || die_usage "--partition: invalid partition name '$partition'"

# The suite: as given relative to the current directory, or relative to the repo root.
if [ -f "$suite" ]; then
  suite_abs="$(cd "$(dirname "$suite")" && pwd)/$(basename "$suite")"
elif [ -f "$REPO/$suite" ]; then
  suite_abs="$REPO/$suite"
else
  die_usage "suite '$suite' not found (relative to $PWD or to the repo root $REPO)"
fi
# Inside the repo, hand the jobs the path relative to the repo root (what one types by hand).
case "$suite_abs" in
  "$REPO"/*) suite_arg="${suite_abs#"$REPO"/}" ;;
  *) suite_arg="$suite_abs" ;;
esac
# The suite's `name:` names its run directories; fall back to the file name.
suite_name="$(sed -n -E 's/^name:[[:space:]]*["'\'']?([A-Za-z0-9_.-]+)["'\'']?[[:space:]]*(#.*)?$/\1/p' "$suite_abs" | head -n 1)"
[ -n "$suite_name" ] || suite_name="$(basename "$suite_abs" .yaml)"
suite_name="${suite_name%.yml}"

# The binary: a path (relative ones are relative to the repo root, where the jobs run) or a
# command name on PATH.
harness_bin="${HARNESS_BIN:-target/release/harness}"
case "$harness_bin" in
  /*) ;;
  */*) harness_bin="$REPO/$harness_bin" ;;
  *) harness_bin="$(command -v "$harness_bin" || true)"
     [ -n "$harness_bin" ] || die_usage "HARNESS_BIN='${HARNESS_BIN}' is not on PATH" ;;
esac
if [ ! -x "$harness_bin" ]; then
  if [ "$dry_run" = 1 ]; then
    echo "$PROG: warning: $harness_bin is not executable here (build it: cargo build --release -p harness)" >&2
  else
    die_usage "harness binary $harness_bin is missing or not executable: build it with 'cargo build --release -p harness' or set HARNESS_BIN"
  fi
fi

SBATCH_CMD="${SBATCH:-sbatch}"
if [ "$dry_run" = 0 ] && ! command -v "$SBATCH_CMD" >/dev/null 2>&1; then
  die_usage "'$SBATCH_CMD' not found: run this on a Slurm login node (or set SBATCH)"
fi

# ---- the submission directory ----
out="${out:-$REPO/results/slurm}"
if [ -n "$train_dir" ]; then
  train_dir="$(realpath -m -- "$train_dir")"
fi
# sbatch --export separates variables with commas.
for path in "$REPO" "$out" "$suite_arg" "$harness_bin" "$train_dir"; do
  case "$path" in *,*) die_usage "paths passed to the jobs cannot contain a comma: '$path'" ;; esac
done
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
if [ "$dry_run" = 1 ]; then
  out="$(realpath -m -- "$out")"
  sub="$out/$suite_name-$stamp"
else
  mkdir -p "$out" || die_usage "cannot create --out directory '$out'"
  out="$(cd "$out" && pwd)"
  # mkdir without -p fails if the directory exists: a unique directory even for two
  # submissions in the same second.
  sub="$out/$suite_name-$stamp"
  i=1
  until mkdir "$sub" 2>/dev/null; do
    i=$((i + 1))
    [ "$i" -le 100 ] || { echo "$PROG: cannot create a submission directory under $out" >&2; exit 1; }
    sub="$out/$suite_name-$stamp-$i"
  done
  mkdir -p "$sub/shards" "$sub/merged" "$sub/logs"
fi
# ---- sbatch arguments ----
common=(--parsable --chdir="$REPO")
[ -n "$partition" ] && common+=(--partition="$partition")
[ -n "$time_limit" ] && common+=(--time="$time_limit")
[ -n "$cpus" ] && common+=(--cpus-per-task="$cpus")
[ -n "$mem" ] && common+=(--mem="$mem")
common+=(${extra[@]+"${extra[@]}"})
gpu_args=()
[ -n "$gpus" ] && gpu_args+=(--ntasks=1 --gpus-per-task="$gpus")

env_common="ALL,HARNESS_BIN=$harness_bin,HARNESS_REPO=$REPO,SUITE=$suite_arg"
[ -n "$train_dir" ] && env_common+=",TRAIN_DIR=$train_dir"

array_range="0-$((shards - 1))"
[ -n "$max_parallel" ] && array_range+="%$max_parallel"

train_cmd=("$SBATCH_CMD" "${common[@]}" ${gpu_args[@]+"${gpu_args[@]}"}
  --job-name="harness-train-$suite_name" --output="$sub/logs/%x-%j.out"
  --export="$env_common" "$SCRIPT_DIR/harness_train.sbatch")
array_cmd=("$SBATCH_CMD" "${common[@]}" ${gpu_args[@]+"${gpu_args[@]}"}
  --job-name="harness-shard-$suite_name" --output="$sub/logs/%x-%A_%a.out"
  --array="$array_range" --export="$env_common,SHARDS_DIR=$sub/shards" "$SCRIPT_DIR/harness_array.sbatch")
merge_cmd=("$SBATCH_CMD" "${common[@]}"
  --job-name="harness-merge-$suite_name" --output="$sub/logs/%x-%j.out"
  --export="$env_common,SHARDS_DIR=$sub/shards,MERGED_DIR=$sub/merged,SUITE_NAME=$suite_name,MERGED_RUN_FILE=$sub/merged_run_dir"
  "$SCRIPT_DIR/harness_merge.sbatch")

# Shell-quotes words for copy and paste, leaving plain ones (most sbatch arguments) as they are.
quote() {
  local out="" w
  for w in "$@"; do
    if [[ "$w" =~ ^[A-Za-z0-9_./:=%,@+-]+$ ]]; then out+=" $w"; else out+=" $(printf '%q' "$w")"; fi
  done
  printf '%s\n' "${out# }"
}

if [ "$dry_run" = 1 ]; then
  echo "# dry run: nothing submitted; \$TRAIN_JOB and \$ARRAY_JOB stand for the job ids"
  dep=""
  if [ "$train" = 1 ]; then
    echo "TRAIN_JOB=\$($(quote "${train_cmd[@]}"))"
    dep="--dependency=afterok:\$TRAIN_JOB --kill-on-invalid-dep=yes "
  fi
  set -- "${array_cmd[@]}"
  echo "ARRAY_JOB=\$($(quote "$1") ${dep}$(quote "${@:2}"))"
  set -- "${merge_cmd[@]}"
  echo "MERGE_JOB=\$($(quote "$1") --dependency=afterok:\$ARRAY_JOB --kill-on-invalid-dep=yes $(quote "${@:2}"))"
  echo "# merged run: $sub/merged/$suite_name/<UTC time>-<config hash>-merged/"
  exit 0
fi

# sbatch --parsable prints "jobid" or "jobid;cluster".
submit() {
  local id
  id="$("$@")" || { echo "$PROG: sbatch failed: $(quote "$@")" >&2; return 1; }
  printf '%s' "${id%%;*}"
}

# An sbatch failed: cancel what this submission already submitted (or, if nothing, remove its
# directory) and exit 1.
abort_submission() {
  if [ "${#submitted[@]}" -gt 0 ]; then
    echo "$PROG: cancelling the jobs already submitted: ${submitted[*]}" >&2
    scancel "${submitted[@]}" || true
    echo "# $(date -u +%FT%TZ) an sbatch failed: cancelled ${submitted[*]}" >>"$sub/submission.txt"
  else
    rm -rf -- "$sub"
  fi
  exit 1
}

{
  echo "# $(date -u +%FT%TZ) $PROG $suite_arg --shards $shards"
  echo "# repo $REPO; HARNESS_BIN $harness_bin"
} >"$sub/submission.txt"

submitted=()
train_job=""
dep=()
if [ "$train" = 1 ]; then
  quote "${train_cmd[@]}" >>"$sub/submission.txt"
  train_job="$(submit "${train_cmd[@]}")" || abort_submission
  submitted+=("$train_job")
  dep=(--dependency="afterok:$train_job" --kill-on-invalid-dep=yes)
fi
array_cmd=("${array_cmd[0]}" ${dep[@]+"${dep[@]}"} "${array_cmd[@]:1}")
quote "${array_cmd[@]}" >>"$sub/submission.txt"
array_job="$(submit "${array_cmd[@]}")" || abort_submission
submitted+=("$array_job")
merge_nodep=("${merge_cmd[@]}")
merge_cmd=("${merge_cmd[0]}" --dependency="afterok:$array_job" --kill-on-invalid-dep=yes "${merge_cmd[@]:1}")
quote "${merge_cmd[@]}" >>"$sub/submission.txt"
merge_job="$(submit "${merge_cmd[@]}")" || abort_submission

cat >"$sub/jobs.env" <<EOF
SUITE=$(printf '%q' "$suite_arg")
SUITE_NAME=$(printf '%q' "$suite_name")
SHARDS=$shards
TRAIN_JOB=$train_job
ARRAY_JOB=$array_job
MERGE_JOB=$merge_job
SUBMISSION_DIR=$(printf '%q' "$sub")
SHARDS_DIR=$(printf '%q' "$sub/shards")
MERGED_DIR=$(printf '%q' "$sub/merged")
LOG_DIR=$(printf '%q' "$sub/logs")
MERGED_RUN_FILE=$(printf '%q' "$sub/merged_run_dir")
EOF

# To rerun some shards (the array indices are then the shard indices, SHARDS=N; RESUME=auto
# continues a shard's unfinished run directory) and merge again.
rerun=("$SBATCH_CMD" "${common[@]}" ${gpu_args[@]+"${gpu_args[@]}"}
  --job-name="harness-shard-$suite_name" --output="$sub/logs/%x-%A_%a.out"
  --array=@SHARDS@ --export="$env_common,SHARDS_DIR=$sub/shards,SHARDS=$shards,RESUME=auto" "$SCRIPT_DIR/harness_array.sbatch")
rerun_line="$(quote "${rerun[@]}")"
rerun_line="${rerun_line/--array=@SHARDS@/--array=\"\$SHARDS_TO_RERUN\"}"
{
  echo
  echo "# To rerun shards (a list of indices, e.g. 1,4), then merge again:"
  echo "SHARDS_TO_RERUN=K"
  echo "RERUN_JOB=\$($rerun_line)"
  set -- "${merge_nodep[@]}"
  echo "$(quote "$1") --dependency=afterok:\$RERUN_JOB --kill-on-invalid-dep=yes $(quote "${@:2}")"
} >>"$sub/submission.txt"

echo "suite:       $suite_arg (name $suite_name), $shards shards"
echo "submission:  $sub"
if [ -n "$train_job" ]; then
  echo "train job:   $train_job"
else
  echo "train job:   (none: --no-train)"
fi
echo "array job:   $array_job (tasks $array_range)"
echo "merge job:   $merge_job"
echo "logs:        $sub/logs/"
echo "merged run:  $sub/merged/$suite_name/<UTC time>-<config hash>-merged/ (its path goes to $sub/merged_run_dir)"
echo "watch:       squeue -j ${train_job:+$train_job,}$array_job,$merge_job"
