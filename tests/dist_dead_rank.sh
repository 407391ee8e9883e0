#!/usr/bin/env bash
# A dead rank ends the job, never a hang (issue 17, Note [Collective
# timeouts] in distributed/include/ember/distributed/distributed.h).
#   dist_dead_rank.sh kill|stop <distributed_ranks> <mpirun> [mpirun flags...]
# Starts 2 ranks looping all_reduce, then, once both are looping:
#   kill  SIGKILL to rank 1: the job must end, nonzero, within 20 s
#         (mpirun ends the survivors by itself);
#   stop  SIGSTOP to rank 1, with EMBER_DIST_TIMEOUT=5: rank 0 must print
#         Ember's own error naming the collective and "rank 1" within 20 s,
#         and the job must end. mpirun does not notice a stopped process, so
#         this is Ember's timeout at work.
# Whatever happens, the script kills everything it started at its deadline
# (20 s after the signal), so a hang fails the test instead of CI.
# EMBER_DIST_TIMEOUT may be overridden (e.g. 600, to see this test fail).
set -u
mode=$1 bin=$2 mpirun=$3
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export EMBER_DIST_PID_DIR=$tmp EMBER_DIST_TIMEOUT=${EMBER_DIST_TIMEOUT:-5}
setsid "$mpirun" "$@" -np 2 -x EMBER_DIST_PID_DIR -x EMBER_DIST_TIMEOUT "$bin" loop >"$tmp/out" 2>&1 &
job=$!

cleanup() {
  # Everything in the job's session: mpirun and the ranks (SIGCONT first, so a
  # stopped rank can die).
  for f in "$tmp"/rank*.pid; do [ -f "$f" ] && kill -CONT "$(cat "$f")" 2>/dev/null; done
  kill -KILL -- -"$job" 2>/dev/null
  for f in "$tmp"/rank*.pid; do [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; done
  wait "$job" 2>/dev/null
}
fail() { echo "FAIL: $*"; echo "--- job output:"; cat "$tmp/out"; cleanup; exit 1; }

# Both ranks running their loop (step 0 printed by each).
for _ in $(seq 1 300); do
  [ "$(grep -c ' step 0$' "$tmp/out" 2>/dev/null)" -ge 2 ] && [ -f "$tmp/rank1.pid" ] && break
  kill -0 "$job" 2>/dev/null || fail "the job ended before both ranks were looping"
  sleep 0.1
done
[ -f "$tmp/rank1.pid" ] || fail "rank 1 never wrote its pid"
sleep 0.5
victim=$(cat "$tmp/rank1.pid")
start=$(date +%s.%N)
if [ "$mode" = kill ]; then kill -KILL "$victim"; else kill -STOP "$victim"; fi

ended=0
for _ in $(seq 1 200); do  # 20 s
  if ! kill -0 "$job" 2>/dev/null; then ended=1; break; fi
  sleep 0.1
done
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
if [ $ended = 0 ]; then fail "the job still runs 20 s after SIG${mode^^} to rank 1"; fi
wait "$job"
rc=$?
echo "the job ended ${elapsed} s after SIG${mode^^} to rank 1, exit status $rc"
[ "$rc" -ne 0 ] || fail "the job ended with status 0"
if [ "$mode" = stop ]; then
  grep -E "ember: distributed: all_reduce #[0-9]+ \(1000 float32\) did not complete within 5 s.*rank 1" "$tmp/out" \
    || fail "rank 0 did not print Ember's error naming the collective and rank 1"
fi
cleanup
echo "PASS"
