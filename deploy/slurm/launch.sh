#!/usr/bin/env bash
# Sourced by the batch scripts in deploy/slurm/: `launch CMD...` starts one MPI job step of
# $SLURM_NTASKS ranks running CMD, in the mode $LAUNCH names (auto | srun | hydra-slurm |
# hydra-ssh), under $STEP_TIMEOUT. deploy/slurm/ci-check runs every mode under a real Slurm.

ntasks=${SLURM_NTASKS:?}
per_node=${SLURM_NTASKS_PER_NODE:-${SLURM_TASKS_PER_NODE%%(*}}   # "4(x2)" -> 4

# Start one MPI job step of $ntasks ranks running "$@".
#   srun        Slurm starts the ranks itself and serves PMI (MPICH's PMI-1 client talks to
#               Slurm's pmi2 plugin); preferred: Slurm tracks, binds and cleans up every rank.
#   hydra-slurm MPICH's mpiexec starts its proxies with srun and reads the node list from Slurm.
#   hydra-ssh   mpiexec with a hostfile from `scontrol show hostnames`; needs password-less ssh
#               between the nodes. Set MPIEXEC_IFACE to the cluster network's interface if the
#               nodes have several (hydra otherwise advertises the node's hostname).
# launch_mode: LAUNCH, with auto resolved: srun with PMI-2 if Slurm offers it, else MPICH's
# mpiexec with its slurm launcher, else mpiexec over ssh.
launch_mode() {
  local mode=$LAUNCH
  if [ "$mode" = auto ]; then
    if srun --mpi=list 2>&1 | grep -qw pmi2; then
      mode=srun
    elif mpiexec -info 2>/dev/null | grep -i 'launchers available' | grep -qw slurm; then
      mode=hydra-slurm
    else
      mode=hydra-ssh
    fi
  fi
  printf '%s\n' "$mode"
}

launch() {
  local mode iface=()
  mode=$(launch_mode)
  [ -z "${MPIEXEC_IFACE:-}" ] || iface=(-iface "$MPIEXEC_IFACE")
  say "step: $* ($ntasks ranks, $SLURM_JOB_NUM_NODES nodes, launcher $mode)"
  case "$mode" in
    srun)
      # --cpus-per-task is not inherited by srun since Slurm 22.05; --kill-on-bad-exit stops
      # the other ranks when one fails.
      timeout "$STEP_TIMEOUT" srun --mpi=pmi2 --ntasks="$ntasks" --cpus-per-task="${SLURM_CPUS_PER_TASK:-1}" \
        --kill-on-bad-exit=1 "$@"
      ;;
    hydra-slurm)
      timeout "$STEP_TIMEOUT" mpiexec "${iface[@]}" -launcher slurm -rmk slurm -n "$ntasks" "$@"
      ;;
    hydra-ssh)
      # Only mpiexec reads it, on this (the first) node: node-local /tmp is fine.
      scontrol show hostnames "$SLURM_JOB_NODELIST" | sed "s/\$/:$per_node/" >"$hostfile"
      timeout "$STEP_TIMEOUT" mpiexec "${iface[@]}" -launcher ssh -f "$hostfile" -n "$ntasks" "$@"
      ;;
    *) say "unknown LAUNCH=$mode (auto | srun | hydra-slurm | hydra-ssh)"; return 2 ;;
  esac
}
hostfile=$(mktemp "${TMPDIR:-/tmp}/owlprune-hosts.XXXXXX")
trap 'rm -f "$hostfile"' EXIT
