#!/usr/bin/env bash
# Launch fttrain data-parallel over several hosts with Open MPI, with BLAS threads sized per rank.
#
#   cluster/launch.sh --hostfile FILE --ranks N [options] -- fttrain train --config CONFIG [flags...]
#
# Each rank trains on its shard and gradients are averaged by fttrain's ring all-reduce; rank 0 writes
# the outputs. The launcher works out how many ranks land on each host (Open MPI's default by-slot
# mapping: hosts in hostfile order, each filled up to its slots), gives every rank
#     threads = cores per node / most ranks on any node   (at least 1)
# and exports it to every rank as OPENBLAS_NUM_THREADS and OMP_NUM_THREADS (mpirun -x), so the ranks
# of a node share its cores instead of each starting one BLAS thread per core.
#
# Options (all before `--`):
#   --hostfile FILE       Open MPI hostfile ("HOST slots=S" lines, # comments; see hostfile.example).
#                         A host listed without slots= counts --cores-per-node slots. Without
#                         --hostfile all ranks run on this machine.
#   --ranks N, -n N       Total number of ranks (required). More ranks than slots is an error unless
#                         --oversubscribe.
#   --cores-per-node C    Cores of each node (nodes are assumed alike). Default: nproc of this machine
#                         (the launching node), which is wrong if it differs from the compute nodes.
#   --threads T           BLAS threads per rank, instead of cores per node / ranks per node.
#   --bind MODE           none (default): ranks are not pinned; the OS spreads the BLAS threads.
#                         core: each rank is pinned to its own T cores (--map-by slot:PE=T
#                         --bind-to core), for dedicated nodes with ranks per node x T <= cores.
#   --net CIDR            Restrict MPI traffic (TCP BTL and out-of-band) to one network, e.g.
#                         10.0.0.0/24 or an interface name (btl_tcp_if_include, oob_tcp_if_include).
#                         Default: Open MPI picks; set it on hosts with several networks.
#   --oversubscribe       Allow more ranks than slots (passes --oversubscribe to mpirun).
#   -x VAR[=VALUE]        Also export VAR to every rank (repeatable), as mpirun -x.
#   --mpirun-arg ARG      Pass ARG to mpirun unchanged (repeatable), e.g. --mpirun-arg --prefix
#                         --mpirun-arg /opt/openmpi when remote hosts need it to find orted.
#   --mpirun PATH         The mpirun to use (default: mpirun on PATH).
#   --dry-run             Print the mpirun command (one shell-quoted line) and the rank layout, do
#                         not run it.
#   -h, --help            Print this header.
#
# After `--` comes the command every rank runs. If its first word is `fttrain` and fttrain is not on
# PATH, the repository's .build/release/fttrain (absolute path) is used: build it with
# `swift build -c release --product fttrain` and make it reachable at the same path on every host
# (shared filesystem, or the same checkout everywhere). Paths in the config (model_dir, train_file,
# output_dir) are read on every host the same way; only rank 0 writes output_dir.
#
# Other mpirun flags always used: --allow-run-as-root only when run as root, and
# --report-bindings with --bind core. mpirun is exec'd, so SIGTERM/SIGINT to the launcher reach
# mpirun, which forwards them to the ranks.
#
# Example:  cluster/launch.sh --hostfile cluster/hosts --ranks 8 --cores-per-node 32 --net 10.0.0.0/24 \
#               -- fttrain train --config examples/rotten_tomatoes.yaml
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
die() { echo "launch.sh: $*" >&2; exit 2; }

hostfile="" ranks="" cores="" threads="" bind=none net="" oversubscribe=0 dry_run=0 mpirun=mpirun
exports=() extra=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --hostfile) hostfile="${2:?--hostfile needs a file}"; shift 2 ;;
        --ranks|-n|-np) ranks="${2:?--ranks needs a number}"; shift 2 ;;
        --cores-per-node) cores="${2:?--cores-per-node needs a number}"; shift 2 ;;
        --threads) threads="${2:?--threads needs a number}"; shift 2 ;;
        --bind) bind="${2:?--bind needs none or core}"; shift 2 ;;
        --net) net="${2:?--net needs a CIDR or interface}"; shift 2 ;;
        --oversubscribe) oversubscribe=1; shift ;;
        -x) exports+=("${2:?-x needs VAR[=VALUE]}"); shift 2 ;;
        --mpirun-arg) extra+=("${2?--mpirun-arg needs an argument}"); shift 2 ;;
        --mpirun) mpirun="${2:?--mpirun needs a path}"; shift 2 ;;
        --dry-run) dry_run=1; shift ;;
        -h|--help) usage; exit 0 ;;
        --) shift; break ;;
        *) die "unknown option '$1' (the command goes after --; see --help)" ;;
    esac
done
[[ $# -gt 0 ]] || die "no command: cluster/launch.sh --hostfile FILE --ranks N -- fttrain train --config ..."
is_count() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }
[[ -n $ranks ]] || die "--ranks N is required"
is_count "$ranks" || die "--ranks must be a positive integer, not '$ranks'"
[[ -n $cores ]] || cores="$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)"
is_count "$cores" || die "--cores-per-node must be a positive integer, not '$cores'"
[[ -z $threads ]] || is_count "$threads" || die "--threads must be a positive integer, not '$threads'"
[[ $bind == none || $bind == core ]] || die "--bind must be none or core, not '$bind'"

# Hosts and slots, in hostfile order (a host listed twice gets the sum of its slots).
hosts=() slots=()
if [[ -n $hostfile ]]; then
    [[ -r $hostfile ]] || die "cannot read hostfile '$hostfile'"
    while read -r line; do
        line="${line%%#*}"; read -r -a words <<<"$line"
        [[ ${#words[@]} -gt 0 ]] || continue
        host="${words[0]}" count="$cores"
        for word in "${words[@]:1}"; do
            case "$word" in slots=*) count="${word#slots=}" ;; esac
        done
        is_count "$count" || die "bad slots '$count' for host $host in $hostfile"
        found=0
        for i in "${!hosts[@]}"; do
            if [[ ${hosts[$i]} == "$host" ]]; then slots[$i]=$((slots[$i] + count)); found=1; fi
        done
        [[ $found -eq 1 ]] || { hosts+=("$host"); slots+=("$count"); }
    done <"$hostfile"
    [[ ${#hosts[@]} -gt 0 ]] || die "no hosts in $hostfile"
else
    hosts=("$(hostname)"); slots=("$cores")
fi

# Ranks per host under by-slot mapping; oversubscription adds ranks round-robin like Open MPI.
total_slots=0; for s in "${slots[@]}"; do total_slots=$((total_slots + s)); done
if [[ $ranks -gt $total_slots && $oversubscribe -eq 0 ]]; then
    die "$ranks ranks but only $total_slots slots in ${hostfile:-this machine}: add hosts/slots or pass --oversubscribe"
fi
placed=(); left=$ranks
for i in "${!hosts[@]}"; do n=$(( left < slots[i] ? left : slots[i] )); placed+=("$n"); left=$((left - n)); done
while [[ $left -gt 0 ]]; do
    for i in "${!hosts[@]}"; do [[ $left -gt 0 ]] && { placed[$i]=$((placed[$i] + 1)); left=$((left - 1)); }; done
done
per_node=0; for n in "${placed[@]}"; do [[ $n -gt $per_node ]] && per_node=$n; done
if [[ -z $threads ]]; then threads=$((cores / per_node)); [[ $threads -ge 1 ]] || threads=1; fi

# The command: `fttrain` falls back to the repository's release build.
command=("$@")
if [[ ${command[0]} == fttrain ]] && ! command -v fttrain >/dev/null 2>&1; then
    command[0]="$repo/.build/release/fttrain"
    [[ -x ${command[0]} || $dry_run -eq 1 ]] || die "${command[0]} not found: swift build -c release --product fttrain"
fi

cmd=("$mpirun" -np "$ranks")
[[ -n $hostfile ]] && cmd+=(--hostfile "$hostfile")
[[ $(id -u) -eq 0 ]] && cmd+=(--allow-run-as-root)
[[ $oversubscribe -eq 1 ]] && cmd+=(--oversubscribe)
if [[ $bind == core ]]; then cmd+=(--map-by "slot:PE=$threads" --bind-to core --report-bindings)
else cmd+=(--bind-to none); fi
[[ -n $net ]] && cmd+=(--mca btl_tcp_if_include "$net" --mca oob_tcp_if_include "$net")
cmd+=(-x "OPENBLAS_NUM_THREADS=$threads" -x "OMP_NUM_THREADS=$threads")
for e in "${exports[@]+"${exports[@]}"}"; do cmd+=(-x "$e"); done
cmd+=("${extra[@]+"${extra[@]}"}" "${command[@]}")

layout=""; for i in "${!hosts[@]}"; do layout+=" ${hosts[$i]}:${placed[$i]}/${slots[$i]}"; done
echo "launch.sh: $ranks ranks, ranks/slots per host:$layout; $cores cores/node, $per_node ranks/node -> $threads BLAS threads/rank" >&2
if [[ $dry_run -eq 1 ]]; then printf '%q ' "${cmd[@]}"; echo; exit 0; fi
exec "${cmd[@]}"
