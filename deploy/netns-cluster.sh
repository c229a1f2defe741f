#!/usr/bin/env bash
# Creates N test hosts in network namespaces joined to this one by veth
# pairs (10.213.N.0/30), to run agents or `coherd lock` "on other hosts" and
# cut their links by hand:  ip link set chN down / up.
#   deploy/netns-cluster.sh up 2     # creates coherd-h1, coherd-h2
#   ip netns exec coherd-h1 node dist/src/cli/main.js lock demo --coordinator 10.213.1.1:7070 -- sh
#   deploy/netns-cluster.sh down 2
set -euo pipefail
cmd=${1:-up}; n=${2:-2}
for i in $(seq 1 "$n"); do
  ns=coherd-h$i host=ch$i peer=cn$i
  if [ "$cmd" = up ]; then
    ip netns add "$ns"
    ip link add "$host" type veth peer name "$peer"
    ip link set "$peer" netns "$ns"
    ip addr add "10.213.$i.1/30" dev "$host"; ip link set "$host" up
    ip netns exec "$ns" ip addr add "10.213.$i.2/30" dev "$peer"
    ip netns exec "$ns" ip link set "$peer" up
    ip netns exec "$ns" ip link set lo up
    echo "host $ns: 10.213.$i.2 (this side 10.213.$i.1, link $host)"
  else
    ip link del "$host" 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  fi
done
