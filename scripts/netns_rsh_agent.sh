#!/bin/sh
# Remote-shell agent for Open MPI that turns network namespaces on this machine into "hosts"
# (see /work/shared/docs/multinode.md and scripts/multinode_test.sh).
#
# Open MPI calls it as `AGENT [options] HOST command...` (mpirun --mca plm_rsh_agent AGENT). The
# leading ssh-style options are skipped (the ones ssh takes a value for, -l -p -o -i -F -E -J, with
# their value), HOST is looked up in NETNS_RSH_MAP, and the command runs in that namespace:
#   exec ip netns exec NS /bin/sh -c "command..."
#
#   NETNS_RSH_MAP   whitespace- or comma-separated ADDRESS=NAMESPACE pairs, e.g.
#                   "10.77.1.1=ftA123 10.77.1.2=ftB123" (required; mpirun passes its environment on)
#
# A host that is not in the map is an error (exit 255, like ssh): the agent never reaches a real host.
while [ $# -gt 0 ]; do
    case "$1" in
        -l|-p|-o|-i|-F|-E|-J) shift 2 ;;
        -*) shift ;;
        *) break ;;
    esac
done
if [ $# -lt 2 ]; then
    echo "netns_rsh_agent: usage: netns_rsh_agent.sh [options] HOST command..." >&2
    exit 255
fi
host="$1"; shift
namespace=""
for pair in $(printf '%s' "${NETNS_RSH_MAP:-}" | tr ',' ' '); do
    if [ "${pair%%=*}" = "$host" ]; then namespace="${pair#*=}"; break; fi
done
if [ -z "$namespace" ]; then
    echo "netns_rsh_agent: host '$host' is not in NETNS_RSH_MAP ('${NETNS_RSH_MAP:-}')" >&2
    exit 255
fi
exec ip netns exec "$namespace" /bin/sh -c "$*"
