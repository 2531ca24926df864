#!/usr/bin/env bash
# Two "hosts" on one machine: network namespaces nnA (10.77.0.1) and nnB (10.77.0.2) joined by
# a veth pair; mpirun runs in nnA and starts rank 1 in nnB through a plm_rsh_agent that enters
# the namespace instead of ssh-ing, and the ranks talk over Open MPI's TCP transport on the veth
# only.  Checks that a sweep gives the one-process results and that data-parallel training
# matches one process, and prints the timings.  Needs root (ip netns).  The namespaces are
# removed at the end.  Usage: bench/mpi_two_hosts.sh [NNFIT]  (default build/src/cli/nnfit)
set -euo pipefail
NNFIT=$(readlink -f "${1:-build/src/cli/nnfit}")
SRC=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
cleanup() {
    ip netns del nnA 2>/dev/null || true
    ip netns del nnB 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
cleanup; work=$(mktemp -d)
ip netns add nnA
ip netns add nnB
ip link add vA type veth peer name vB
ip link set vA netns nnA
ip link set vB netns nnB
ip -n nnA addr add 10.77.0.1/24 dev vA
ip -n nnB addr add 10.77.0.2/24 dev vB
for ns in nnA nnB; do ip -n $ns link set lo up; done
ip -n nnA link set vA up
ip -n nnB link set vB up

cat > "$work/agent" <<'AGENT'
#!/bin/sh
# "agent HOST COMMAND...": run COMMAND in the namespace that owns HOST's address
host=$1; shift
case "$host" in 10.77.0.1) ns=nnA ;; 10.77.0.2) ns=nnB ;; *) echo "agent: unknown host $host" >&2; exit 1 ;; esac
exec ip netns exec "$ns" /bin/sh -c "$*"
AGENT
chmod +x "$work/agent"
printf '10.77.0.1 slots=1\n10.77.0.2 slots=1\n' > "$work/hosts"
cd "$work"
# --bind-to none: each "host" would bind its rank to its first core, the same core of this machine
MPI=(ip netns exec nnA mpirun --allow-run-as-root --hostfile hosts -np 2 --bind-to none --mca plm_rsh_agent "$work/agent"
     --mca plm_rsh_no_tree_spawn 1 --mca oob_tcp_if_include 10.77.0.0/24 --mca btl tcp,self
     --mca btl_tcp_if_include 10.77.0.0/24)

echo "== where the ranks run"
"${MPI[@]}" /bin/sh -c 'echo "rank $OMPI_COMM_WORLD_RANK: network namespace with $(grep -o "v[AB]:" /proc/self/net/dev | tr -d :)"' | sort

echo "== sweep: 2 hosts vs one process"
SWEEP=(sweep --opt adam,lbfgs --epochs 100 --restarts 6 --seed 3 --jobs 1)
mkdir one two
t0=$(date +%s.%N); "$NNFIT" "${SWEEP[@]}" --out one/out.csv --json one/out.json > one/out.txt 2>/dev/null; t1=$(date +%s.%N)
"${MPI[@]}" "$NNFIT" "${SWEEP[@]}" --out two/out.csv --json two/out.json > two/out.txt 2>/dev/null; t2=$(date +%s.%N)
printf "one process %.2f s, 2 hosts %.2f s (including mpirun's start)\n" "$(echo "$t1 - $t0" | bc -l)" "$(echo "$t2 - $t1" | bc -l)"
/usr/bin/python3 "$SRC/tests/mpi_compare.py" one two && echo "results identical apart from timing columns"
head -6 two/out.txt | tail -3

echo "== data-parallel train: 2 hosts vs one process"
"$NNFIT" data --task abs --n 6000 --out d.npy > /dev/null
TRAIN=(train --data d.npy --inputs 2 --layers 2,16,1 --epochs 20 --batch 300 --lr 0.01 --seed 2 --val-split 0.1)
"$NNFIT" "${TRAIN[@]}" --threads 1 2>/dev/null | grep -E '^(final_loss|final_val_loss|seconds)'
# each "host" would take the machine's cores for itself (threads: cores / ranks on the node);
# both share these cores, so one thread each
"${MPI[@]}" "$NNFIT" "${TRAIN[@]}" --threads 1 2>/dev/null | grep -E '^(processes|final_loss|final_val_loss|seconds)'

SUM=$(dirname "$NNFIT")/../../bench/mpi_sum
if [ -x "$SUM" ]; then
    echo "== the gradient sum (bench/mpi_sum.c) between the two hosts"
    "${MPI[@]}" "$SUM" 2>/dev/null
fi
