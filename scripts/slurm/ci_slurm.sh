#!/usr/bin/env bash
# CI test of the Slurm scale-out path (docs/scale-out.md), as root on a fresh Debian 12 machine,
# after `cargo build --release -p harness`:
#   1. installs slurm-wlm and munge from Debian's packages if missing;
#   2. starts a private ONE-NODE cluster (munged, slurmctld, slurmd) whose every file (config,
#      key, socket, state, spool, logs, pid files) lies in one `mktemp -d` directory, on
#      localhost ports;
#   3. submits suites/smoke.yaml with scripts/slurm/submit.sh (train job, a 3-task array, the
#      merge job), waits for the jobs and checks that all COMPLETED;
#   4. runs the same suite unsharded and checks, with compare_results.py, that the merged
#      results.json (and per_image.jsonl) equal the unsharded ones;
#   5. stops the daemons it started, by pid, and removes the directory (KEEP_SLURM_TMP=1 keeps it).
#
# Environment:
#   HARNESS_BIN           harness binary (default target/release/harness in the repo)
#   SLURM_CI_SHARDS       shard count (default 3)
#   SLURM_CI_JOB_TIMEOUT  seconds to wait for the jobs (default 1200)
#   KEEP_SLURM_TMP=1      keep the temporary directory (its path is printed)
#   TMPDIR                where the temporary directory goes (default /tmp; must allow exec)
# Exit status: 0 pass, 1 fail, 2 setup problem (no binary, not root).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/../.." && pwd)"
cd "$REPO"

SHARDS="${SLURM_CI_SHARDS:-3}"
JOB_TIMEOUT="${SLURM_CI_JOB_TIMEOUT:-1200}"
NODE_TIMEOUT=120   # daemons up and the node idle
STOP_TIMEOUT=30    # each daemon's exit after SIGTERM, the jobs' exit after scancel
SUITE=suites/smoke.yaml

log() { echo "[ci_slurm $(date -u +%H:%M:%S)] $*"; }
fail() { echo "[ci_slurm $(date -u +%H:%M:%S)] FAIL: $*" >&2; exit 1; }

HARNESS_BIN="${HARNESS_BIN:-target/release/harness}"
case "$HARNESS_BIN" in
  /*) ;;
  */*) HARNESS_BIN="$REPO/$HARNESS_BIN" ;;
  *) HARNESS_BIN="$(command -v "$HARNESS_BIN" || echo "$HARNESS_BIN")" ;;
esac
[ -x "$HARNESS_BIN" ] || { echo "ci_slurm.sh: $HARNESS_BIN is not executable: run cargo build --release -p harness first (or set HARNESS_BIN)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "ci_slurm.sh: must run as root (it installs packages and runs the Slurm daemons as root)" >&2; exit 2; }
export HARNESS_BIN

# ---------------------------------------------------------------- 1. packages
missing=()
for cmd in munged mungekey slurmctld slurmd sbatch squeue scontrol sinfo scancel; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
done
packages=()
[ "${#missing[@]}" -eq 0 ] || packages+=(slurm-wlm munge)
command -v python3 >/dev/null 2>&1 || packages+=(python3)
if [ "${#packages[@]}" -gt 0 ]; then
  log "installing ${packages[*]} (missing: ${missing[*]:-python3})"
  # The packages' maintainer scripts would start munge/slurm services: forbid that (exit 101
  # is "action not allowed" to invoke-rc.d) unless the machine already has such a policy.
  policy_created=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    policy_created=1
  fi
  install_status=0
  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"; } \
    || install_status=$?
  [ "$policy_created" = 0 ] || rm -f /usr/sbin/policy-rc.d
  [ "$install_status" = 0 ] || fail "apt-get install ${packages[*]} failed ($install_status)"
fi

# ---------------------------------------------------------------- cleanup (installed first)
TMP=""            # the cluster's directory, once made
started_pids=()   # the daemons' pids as started here ($!), beside their pid files
alive() { # pid: a running (not zombie) process
  local state
  state="$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)"
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

daemon_pid() { # pid file -> pid, if that process is alive
  local pid
  pid="$(cat "$1" 2>/dev/null || true)"
  if [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid"; then echo "$pid"; fi
  return 0
}

stop_pid() { # pid name: SIGTERM, wait up to STOP_TIMEOUT s, then SIGKILL; reaps our children
  local pid="$1" name="$2" i
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
      alive "$pid" || break
      sleep 0.1
    done
    if alive "$pid"; then
      log "$name ($pid) did not stop in ${STOP_TIMEOUT}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
}

marked_pids() { # the processes whose environment holds $MARK (this cluster's), but not this shell
  local env_file pid
  for env_file in /proc/[0-9]*/environ; do
    pid="${env_file#/proc/}"; pid="${pid%/environ}"
    [ "$pid" != "$$" ] || continue
    if { tr '\0' '\n' <"$env_file"; } 2>/dev/null | grep -qxF "$MARK"; then echo "$pid"; fi
  done
}

show_logs() { # the daemons' logs (munged in the foreground logs to its stdout only)
  local d f
  for d in slurmctld slurmd munged; do
    f="$TMP/log/$d.log"
    [ -s "$f" ] || f="$TMP/log/$d.stdout"
    [ -s "$f" ] || continue
    echo "----- tail -n 40 $f"
    tail -n 40 "$f"
  done
}

cleanup() {
  local status=$? pid name i left
  trap - EXIT INT TERM
  set +e
  [ -n "$TMP" ] || exit "$status"
  if [ "$status" != 0 ]; then
    echo "[ci_slurm] failed (exit $status); daemon logs:" >&2
    show_logs >&2
  fi
  # Jobs first (their steps would outlive slurmd), then slurmd, slurmctld, munged.
  if [ -n "$(daemon_pid "$CTLD_PID")" ]; then
    ids="$(squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ')"
    if [ -n "${ids// /}" ]; then
      log "cancelling jobs: $ids"
      # shellcheck disable=SC2086
      scancel $ids 2>/dev/null
      for ((i = 0; i < STOP_TIMEOUT; i++)); do
        [ -z "$(squeue -h -o %A 2>/dev/null)" ] && break
        sleep 1
      done
    fi
  fi
  for name in slurmd slurmctld munged; do
    case "$name" in
      slurmd) pid="$(daemon_pid "$SLURMD_PID")" ;;
      slurmctld) pid="$(daemon_pid "$CTLD_PID")" ;;
      munged) pid="$(daemon_pid "$MUNGE_PID")" ;;
    esac
    if [ -n "$pid" ]; then
      log "stopping $name (pid $pid)"
      stop_pid "$pid" "$name"
    fi
  done
  # The pids as started (a daemon that never wrote its pid file).
  for pid in ${started_pids[@]+"${started_pids[@]}"}; do stop_pid "$pid" "daemon"; done
  # Last resort: anything of this cluster still alive (a job step orphaned by slurmd).
  left="$(marked_pids | tr '\n' ' ')"
  if [ -n "${left// /}" ]; then
    log "ending leftover processes of this cluster: $left"
    for pid in $left; do
      echo "  $pid $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
      stop_pid "$pid" "leftover"
    done
  fi
  if [ "${KEEP_SLURM_TMP:-0}" = 1 ]; then
    log "kept $TMP (KEEP_SLURM_TMP=1)"
  else
    rm -rf "$TMP"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- 2. the cluster's files
TMP="$(mktemp -d "${TMPDIR:-/tmp}/ci-slurm.XXXXXX")"
CONF="$TMP/slurm.conf"
MUNGE_SOCKET="$TMP/munge/munge.socket"
MUNGE_PID="$TMP/run/munged.pid"
CTLD_PID="$TMP/run/slurmctld.pid"
SLURMD_PID="$TMP/run/slurmd.pid"
# Marks the processes of this cluster (daemons, job steps, jobs): the last-resort cleanup ends
# exactly the processes whose environment holds it. The script's own environment does not.
MARK="CI_SLURM_CLUSTER=$TMP"
chmod 755 "$TMP"
mkdir -p "$TMP"/{munge,state,spool,log,run,out}
# munged wants its socket's directory searchable by all; the key itself is 0600.
chmod 755 "$TMP/munge"
# slurmd runs the batch scripts from its spool directory, and a Unix socket path has at most 107
# bytes: say so plainly rather than fail later.
printf '#!/bin/sh\nexit 0\n' >"$TMP/exec-test" && chmod 755 "$TMP/exec-test"
"$TMP/exec-test" 2>/dev/null || { echo "ci_slurm.sh: cannot execute files in $TMP (noexec mount?): set TMPDIR to another directory" >&2; exit 2; }
rm -f "$TMP/exec-test"
[ "${#MUNGE_SOCKET}" -le 100 ] || { echo "ci_slurm.sh: $MUNGE_SOCKET is too long for a socket: set TMPDIR to a shorter directory" >&2; exit 2; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { # a port nothing listens on, other than $1
  python3 - "$1" <<'EOF'
import socket, sys
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    if str(port) != sys.argv[1]:
        print(port); break
EOF
}
CTLD_PORT=6817
SLURMD_PORT=6818
port_in_use "$CTLD_PORT" && CTLD_PORT="$(free_port "$SLURMD_PORT")"
port_in_use "$SLURMD_PORT" && SLURMD_PORT="$(free_port "$CTLD_PORT")"

HOST="$(hostname -s)"
CPUS="$(nproc)"
# Every Slurm command runs with SLURM_CONF set: without a config file, Slurm looks for one in
# DNS (SRV records), and this script talks to nothing but localhost.
export SLURM_CONF="$CONF"
echo "ClusterName=ci" >"$CONF"
# RealMemory a bit below what slurmd detects (a node with less than configured is drained).
detected_mem="$(slurmd -C 2>/dev/null | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' | head -n 1)"
[ -n "$detected_mem" ] || detected_mem="$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)"
REAL_MEM=$((detected_mem * 90 / 100))
log "node $HOST: CPUs=$CPUS RealMemory=$REAL_MEM (detected $detected_mem MB); ports $CTLD_PORT/$SLURMD_PORT; files in $TMP"

cat >"$CONF" <<EOF
# One-node CI cluster written by scripts/slurm/ci_slurm.sh
ClusterName=ci
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$TMP/state
SlurmdSpoolDir=$TMP/spool
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$TMP/log/slurmctld.log
SlurmdLogFile=$TMP/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
SwitchType=switch/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=5,bf_interval=5
MinJobAge=3600
KillWait=5
InactiveLimit=0
SlurmdTimeout=120
SlurmctldTimeout=120
MailProg=/bin/true
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$REAL_MEM State=UNKNOWN
PartitionName=ci Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
SLURM_VERSION="$(sinfo -V 2>/dev/null || echo "unknown version")"
log "$SLURM_VERSION, $(munged --version 2>&1 | head -n 1)"
# The clients must not pick up a SLURM_* setting of the calling environment.
unset SBATCH_PARTITION SBATCH_ACCOUNT SLURM_JOB_ID SLURM_ARRAY_TASK_ID 2>/dev/null || true

# ---------------------------------------------------------------- 3. daemons
daemons_alive() { # every daemon started so far still runs
  local pid
  for pid in ${started_pids[@]+"${started_pids[@]}"}; do alive "$pid" || return 1; done
}
wait_for() { # timeout description command...: polls every second
  local timeout="$1" what="$2" i
  shift 2
  for ((i = 0; i < timeout; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    daemons_alive || fail "a daemon exited while waiting for $what"
    sleep 1
  done
  fail "timed out after ${timeout}s waiting for $what"
}

if command -v mungekey >/dev/null 2>&1; then
  mungekey --create --keyfile="$TMP/munge/munge.key" --force
else
  dd if=/dev/urandom of="$TMP/munge/munge.key" bs=1024 count=1 status=none
fi
chmod 600 "$TMP/munge/munge.key"

log "starting munged"
env "$MARK" munged --foreground --socket="$MUNGE_SOCKET" --key-file="$TMP/munge/munge.key" \
  --log-file="$TMP/log/munged.log" --pid-file="$MUNGE_PID" --seed-file="$TMP/munge/munged.seed" \
  </dev/null >"$TMP/log/munged.stdout" 2>&1 &
started_pids+=($!)
wait_for "$NODE_TIMEOUT" "munged's socket" test -S "$MUNGE_SOCKET"
munge --socket="$MUNGE_SOCKET" -n | unmunge --socket="$MUNGE_SOCKET" >/dev/null \
  || fail "munge credential round trip failed"

log "starting slurmctld"
env "$MARK" slurmctld -D -f "$CONF" </dev/null >"$TMP/log/slurmctld.stdout" 2>&1 &
started_pids+=($!)
wait_for "$NODE_TIMEOUT" "slurmctld to answer" scontrol ping

log "starting slurmd"
env "$MARK" slurmd -D -f "$CONF" -N "$HOST" </dev/null >"$TMP/log/slurmd.stdout" 2>&1 &
started_pids+=($!)
node_idle() { [ "$(sinfo -h -n "$HOST" -o %t 2>/dev/null)" = idle ]; }
wait_for "$NODE_TIMEOUT" "node $HOST to be idle (sinfo)" node_idle
log "cluster up: $(sinfo -h -o '%P %a %D %t %N')"

# ---------------------------------------------------------------- 4. the sharded run
log "submitting $SUITE in $SHARDS shards"
submit_out="$(env "$MARK" "$SCRIPT_DIR/submit.sh" "$SUITE" --shards "$SHARDS" --partition ci --out "$TMP/out")" \
  || fail "submit.sh failed"
echo "$submit_out"
SUB="$(sed -n 's/^submission: *//p' <<<"$submit_out")"
[ -f "$SUB/jobs.env" ] || fail "submit.sh wrote no $SUB/jobs.env"
# shellcheck disable=SC1091
. "$SUB/jobs.env"
JOBS=()
[ -z "$TRAIN_JOB" ] || JOBS+=("$TRAIN_JOB")
JOBS+=("$ARRAY_JOB" "$MERGE_JOB")

# One line per job (array tasks each): "id state reason exit".
job_states() {
  local id
  for id in "${JOBS[@]}"; do
    scontrol -o show job "$id" 2>/dev/null | awk '{
      id = ""; st = ""; rs = ""; ec = ""; task = ""
      for (i = 1; i <= NF; i++) {
        split($i, kv, "=")
        if (kv[1] == "JobId") id = kv[2]
        else if (kv[1] == "ArrayJobId") aj = kv[2]
        else if (kv[1] == "ArrayTaskId") task = kv[2]
        else if (kv[1] == "JobState") st = kv[2]
        else if (kv[1] == "Reason") rs = kv[2]
        else if (kv[1] == "ExitCode") ec = kv[2]
      }
      name = (task != "") ? aj "_" task : id
      print name, st, rs, ec
    }' || echo "$id UNKNOWN - -"
  done
}
all_done() { # every job in a final state (or never to start)
  local states
  states="$(job_states)"
  [ -n "$states" ] || return 1
  ! awk '$2 ~ /^(PENDING|RUNNING|CONFIGURING|COMPLETING|SUSPENDED|REQUEUED|RESIZING|SIGNALING|STAGE_OUT|UNKNOWN)$/ && $3 != "DependencyNeverSatisfied" { busy = 1 } END { exit !busy }' <<<"$states"
}

log "waiting for jobs ${JOBS[*]} (timeout ${JOB_TIMEOUT}s)"
start=$SECONDS
last=""
until all_done; do
  if ((SECONDS - start > JOB_TIMEOUT)); then
    job_states
    for f in "$LOG_DIR"/*; do [ -f "$f" ] && { echo "----- $f"; tail -n 50 "$f"; }; done
    fail "jobs not finished after ${JOB_TIMEOUT}s"
  fi
  now="$(job_states | awk '{ print $1 ":" $2 }' | tr '\n' ' ')"
  [ "$now" = "$last" ] || log "$now"
  last="$now"
  sleep 3
done
states="$(job_states)"
log "jobs finished after $((SECONDS - start))s:"
while read -r line; do echo "  $line"; done <<<"$states"
if awk '$2 != "COMPLETED" || $4 != "0:0" { bad = 1 } END { exit !bad }' <<<"$states"; then
  for f in "$LOG_DIR"/*; do [ -f "$f" ] && { echo "----- $f"; cat "$f"; }; done
  fail "not every job COMPLETED with exit 0:0"
fi
expected=$((${#JOBS[@]} - 1 + SHARDS))
[ "$(wc -l <<<"$states")" -eq "$expected" ] || fail "expected $expected job records, got $(wc -l <<<"$states")"

MERGED="$(cat "$MERGED_RUN_FILE" 2>/dev/null || true)"
if [ -z "$MERGED" ] || [ ! -f "$MERGED/results.json" ]; then
  fail "the merge job reported no merged run directory with a results.json (${MERGED:-$MERGED_RUN_FILE missing})"
fi
log "merged run: $MERGED"
shard_runs="$(find "$SHARDS_DIR" -mindepth 2 -maxdepth 2 -type d -name '*-shard-*' | wc -l)"
[ "$shard_runs" -eq "$SHARDS" ] || fail "expected $SHARDS shard run directories under $SHARDS_DIR, found $shard_runs"

# ---------------------------------------------------------------- 5. unsharded reference
log "unsharded run of $SUITE"
t0=$SECONDS
"$HARNESS_BIN" run "$SUITE" --out "$TMP/unsharded" --no-progress >"$TMP/log/unsharded.log" 2>&1 \
  || { tail -n 50 "$TMP/log/unsharded.log"; fail "unsharded harness run failed"; }
log "unsharded run took $((SECONDS - t0))s"
runs=("$TMP/unsharded"/*/*/)
if [ "${#runs[@]}" -ne 1 ] || [ ! -f "${runs[0]}/results.json" ]; then
  fail "expected one unsharded run directory with a results.json, found: ${runs[*]}"
fi
UNSHARDED="${runs[0]%/}"

compared=0
for file in results.json per_image.jsonl; do
  if [ -f "$MERGED/$file" ] && [ -f "$UNSHARDED/$file" ]; then
    python3 "$SCRIPT_DIR/compare_results.py" "$MERGED/$file" "$UNSHARDED/$file" \
      || fail "merged $file differs from the unsharded run's (A = merged, B = unsharded)"
    compared=$((compared + 1))
  elif [ "$file" = results.json ]; then
    fail "results.json missing"
  fi
done
log "PASS: $SHARDS shards merged equal the unsharded run ($compared files compared)"
