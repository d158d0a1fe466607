#!/bin/bash
# redis-cli --cluster create takes addresses: resolve the six services, join them once.
set -euo pipefail
if redis-cli -h redis-1 cluster info | grep -q 'cluster_state:ok'; then echo "cluster already created"; exit 0; fi
nodes=()
for i in 1 2 3 4 5 6; do nodes+=("$(getent hosts "redis-$i" | awk '{print $1}'):6379"); done
redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes
until redis-cli -h redis-1 cluster info | grep -q 'cluster_state:ok'; do sleep 1; done
