# Shared by the netns tests that run probe agents on the routed namespace fabric (sourced,
# not a test of its own). The caller sets bin (fabricctl) and src (source tree) and defines
# fail().

# fabric_test_begin TAG: a prefix for this run's namespaces and interfaces (TAG + pid, at
# most 8 characters), a management /24 no other fabric on this machine uses (MGMT_NET), the
# test library's scratch directory made current, and an exit step that stops the processes
# listed in `pids` and removes the fabric on any exit (the directory goes after it).
fabric_test_begin() {
  prefix="$1$(($$ % 1000000))"
  local k tries
  for ((k = $$ % 200 + 50, tries = 0; tries < 200; k = (k + 1) % 256, tries++)); do
    [ -z "$(ip -o -4 addr show to "198.19.$k.254/32")" ] && break
  done
  export MGMT_NET="198.19.$k"
  pids=()
  # shellcheck source=tests/cli/testlib.sh
  . "$src/tests/cli/testlib.sh" # makes and enters $work, removed on exit after the on_exit steps
  on_exit fabric_test_end
  trap 'exit 130' INT TERM
}

fabric_test_end() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  bash "$src/tools/netns/routed-fabric-down.sh" "$prefix"
}

# start_fabric_agents: one `probe serve` per host namespace of the fabric described by
# fabric.env (already sourced), listening on the host's fabric address (probes from peers)
# and its management address (the coordinator's orders), taking orders only for the
# fabric's agents file; logs in agentN.log, pids appended to `pids` (agent N is
# pids[first + N], first given in agents_first). Waits until every agent listens on both.
start_fabric_agents() {
  local h ns addr mgmt want
  printf 'fabric-agents-test-token-%s-0123456789\n' "$prefix" >token
  chmod 600 token
  agents_first=${#pids[@]}
  for ((h = 0; h < FABRIC_HOST_COUNT; h++)); do
    eval "ns=\$FABRIC_H${h}_NS addr=\$FABRIC_H${h}_ADDR mgmt=\$FABRIC_H${h}_MGMT_ADDR"
    ip netns exec "$ns" "$bin" probe serve --listen "$addr:$FABRIC_AGENT_PORT" --listen "$mgmt:$FABRIC_AGENT_PORT" \
      --token-file token --peers "$FABRIC_AGENTS" 2>"agent$h.log" &
    pids+=($!)
  done
  for ((h = 0; h < FABRIC_HOST_COUNT; h++)); do
    eval "addr=\$FABRIC_H${h}_ADDR mgmt=\$FABRIC_H${h}_MGMT_ADDR"
    want="listening on $addr:$FABRIC_AGENT_PORT, $mgmt:$FABRIC_AGENT_PORT "
    for _ in $(seq 200); do grep -qF "$want" "agent$h.log" && break; sleep 0.05; done
    grep -qF "$want" "agent$h.log" || fail "agent h$h does not listen on both addresses"
  done
}
