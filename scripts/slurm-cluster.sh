#!/usr/bin/env bash
# A real single-node Slurm cluster on localhost, for the tests of distributed sweeps (sbatch job arrays).
#
#   bash scripts/slurm-cluster.sh start    # install if missing, configure, start munged+slurmctld+slurmd, wait idle
#   bash scripts/slurm-cluster.sh stop     # stop slurmd, slurmctld, munged by their pid files; wait until gone
#   bash scripts/slurm-cluster.sh status   # which daemons run, and the node state (exit 3 if one is stopped)
#   bash scripts/slurm-cluster.sh env      # `export SLURM_CONF=...` for callers: eval "$(bash scripts/slurm-cluster.sh env)"
#
# Made for CI: root on a fresh Debian 12 machine, no systemd, only loopback. Debian 12 ships Slurm 22.05.
# Every command is idempotent: `start` on a running cluster only checks it; `stop` on a stopped one does nothing.
# Daemons are only ever signalled through the pid files written here, never looked up by process name.
#
# Environment:
#   RENTREE_SLURM_DIR        state directory (default /var/tmp/rentree-slurm): slurm.conf, pid files, logs,
#                            spool and state-save dirs
#   RENTREE_SLURM_TIMEOUT    seconds `start` waits for the node to become idle (default 60)
set -euo pipefail

DIR="${RENTREE_SLURM_DIR:-/var/tmp/rentree-slurm}"
TIMEOUT="${RENTREE_SLURM_TIMEOUT:-60}"
CONF="$DIR/slurm.conf"
# Debian's binaries read /etc/slurm/slurm.conf unless SLURM_CONF is set. We export SLURM_CONF for the daemons
# and print it for callers (`env`), and also install the same file there so that a plain `sbatch` (say, one
# spawned by a test that did not eval `env`) talks to this cluster -- but only if that file is absent or ours.
SYS_CONF=/etc/slurm/slurm.conf
MARKER="# written by rentree scripts/slurm-cluster.sh"
NODE=localhost

RUN="$DIR/run"       # pid files (slurm daemons run as root, so root-owned is fine)
LOG="$DIR/log"
MUNGE_DIR="$DIR/munge" # munged runs as user munge and writes its pid/log here, so this one is munge-owned
MUNGED_PID="$MUNGE_DIR/munged.pid"
MUNGED_LOG="$MUNGE_DIR/munged.log"
CTLD_PID="$RUN/slurmctld.pid"
SLURMD_PID="$RUN/slurmd.pid"
CTLD_LOG="$LOG/slurmctld.log"
SLURMD_LOG="$LOG/slurmd.log"
# munged's socket stays at the compiled-in default, because every munge client (slurm's auth/munge plugin,
# `munge`, `unmunge`) looks for it there. /run is a tmpfs that nothing (no systemd-tmpfiles) recreates for us.
MUNGE_SOCKET_DIR=/run/munge
MUNGE_KEY=/etc/munge/munge.key

export SLURM_CONF="$CONF"

say() { printf 'slurm-cluster: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# --- pid-file based process handling ---------------------------------------------------------------------------

# pid_alive PID NAME: the process is alive, not a zombie, and runs the expected program. Checking the program
# name guards against a stale pid file whose pid was reused by an unrelated process. Checking for zombies
# matters here: PID 1 on these machines is not a prompt reaper, so a daemon that exited lingers as a zombie
# for a while, which `kill -0` would still report as alive.
pid_alive() {
  local pid=$1 want=$2 comm state
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [ "$comm" = "$want" ] || return 1
  # field 3 of /proc/PID/stat is the state; the command field before it is in parentheses and may hold spaces
  state=$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
  [ "$state" != Z ] && [ "$state" != X ]
}

# pid_of FILE NAME -> prints the pid in FILE if that process is alive (see pid_alive).
pid_of() {
  local file=$1 want=$2 pid
  # the daemon may delete its pid file at any moment while exiting: a failed read just means "not running"
  pid=$( { tr -dc '0-9' <"$file"; } 2>/dev/null) || return 1
  [ -n "$pid" ] || return 1
  pid_alive "$pid" "$want" || return 1
  echo "$pid"
}

running() { pid_of "$1" "$2" >/dev/null; }

# stop_daemon NAME PIDFILE: SIGTERM, wait up to 30 s, then SIGKILL and wait up to 5 s more.
stop_daemon() {
  local name=$1 file=$2 pid i
  if ! pid=$(pid_of "$file" "$name"); then
    rm -f "$file"
    say "$name: not running"
    return 0
  fi
  say "$name: stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  # wait on the pid itself, not the pid file: the daemons remove their pid file before they have fully exited
  for ((i = 0; i < 300; i++)); do
    pid_alive "$pid" "$name" || break
    sleep 0.1
  done
  if pid_alive "$pid" "$name"; then
    say "$name: still alive after 30 s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      pid_alive "$pid" "$name" || break
      sleep 0.1
    done
  fi
  pid_alive "$pid" "$name" && die "$name (pid $pid) would not stop"
  rm -f "$file"
  say "$name: stopped"
}

# wait_pidfile NAME PIDFILE: daemons fork and their parent returns before the child writes the pid file.
wait_pidfile() {
  local name=$1 file=$2 i
  for ((i = 0; i < 100; i++)); do
    running "$file" "$name" && return 0
    sleep 0.1
  done
  fail "$name did not come up (no live process in $file after 10 s)"
}

show_logs() {
  local f
  for f in "$MUNGED_LOG" "$CTLD_LOG" "$SLURMD_LOG"; do
    [ -f "$f" ] || continue
    printf '\n----- last lines of %s -----\n' "$f" >&2
    tail -n 25 "$f" >&2 || true
  done
}

fail() { say "ERROR: $*"; show_logs; exit 1; }

# --- install ---------------------------------------------------------------------------------------------------

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }

install_packages() {
  local missing=() p
  for p in slurm-wlm munge; do installed "$p" || missing+=("$p"); done
  for p in slurmctld slurmd munged sinfo sbatch squeue scontrol; do
    command -v "$p" >/dev/null 2>&1 || [ -x "/usr/sbin/$p" ] || { missing=(slurm-wlm munge); break; }
  done
  [ ${#missing[@]} -eq 0 ] && return 0

  say "installing ${missing[*]} (apt-get, quiet; 10-70 s depending on the mirror)"
  mkdir -p "$LOG"
  # No systemd, so the packages' maintainer scripts would start daemons through /etc/init.d via invoke-rc.d,
  # with their own pid files and config. A policy-rc.d that exits 101 forbids that; we start them ourselves.
  # Only add one for the duration of the install if the machine has none (Docker-like images already do).
  local policy=/usr/sbin/policy-rc.d added_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# temporary, from rentree scripts/slurm-cluster.sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    added_policy=1
  fi
  local rc=0
  {
    export DEBIAN_FRONTEND=noninteractive
    # update only because something is missing (the package lists may be absent or stale on a fresh machine)
    apt-get update -qq &&
      apt-get install -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends slurm-wlm munge
  } >"$LOG/apt.log" 2>&1 || rc=$?
  [ "$added_policy" = 1 ] && rm -f "$policy"
  if [ "$rc" -ne 0 ]; then
    tail -n 30 "$LOG/apt.log" >&2
    die "apt-get failed (exit $rc); full log in $LOG/apt.log"
  fi
  if ! installed slurm-wlm || ! installed munge; then die "packages still not installed; see $LOG/apt.log"; fi
}

# --- configuration ---------------------------------------------------------------------------------------------

write_config() {
  local cpus mem_kb mem_mb tmp
  # nproc counts the CPUs we may use, never more than the hardware has. Declaring more CPUs (or memory) than
  # slurmd detects would make slurmctld drain the node ("Low socket*core*thread count" / "Low RealMemory").
  cpus=$(nproc)
  mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
  mem_mb=$((mem_kb * 90 / 100 / 1024)) # 90 %: slurmd reports a bit less than MemTotal
  tmp=$(mktemp "$DIR/slurm.conf.XXXXXX")
  cat >"$tmp" <<EOF
$MARKER -- regenerated by every 'start'; do not edit
ClusterName=rentree
SlurmctldHost=$NODE
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# no cgroups: the CI machine has no systemd and may not delegate cgroup controllers
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# a node that was DOWN (e.g. slurmctld came up before slurmd) returns as soon as it registers
ReturnToService=2
# finished jobs stay visible to squeue/scontrol for 5 minutes (there is no accounting, so no sacct)
MinJobAge=300
# no mail on this machine; without this slurmctld logs "Configured MailProg is invalid"
MailProg=/bin/true
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmdSpoolDir=$DIR/spool
StateSaveLocation=$DIR/state
SlurmctldLogFile=$CTLD_LOG
SlurmdLogFile=$SLURMD_LOG
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
  chmod 644 "$tmp"
  if [ -f "$CONF" ] && cmp -s "$tmp" "$CONF"; then
    rm -f "$tmp"
    CONFIG_CHANGED=0
  else
    mv -f "$tmp" "$CONF"
    CONFIG_CHANGED=1
  fi
  # Mirror into /etc/slurm only if that file is ours or absent: never clobber a real cluster's config.
  mkdir -p "$(dirname "$SYS_CONF")"
  if [ ! -e "$SYS_CONF" ] || head -n 1 "$SYS_CONF" | grep -qF "$MARKER"; then
    cmp -s "$CONF" "$SYS_CONF" 2>/dev/null || cp -f "$CONF" "$SYS_CONF"
  else
    say "note: $SYS_CONF is not ours; left alone. Callers must use: eval \"\$(bash $0 env)\""
  fi
}

# --- start -----------------------------------------------------------------------------------------------------

as_munge() {
  # runuser is in util-linux (always on Debian); sudo may be absent on minimal images.
  if command -v runuser >/dev/null 2>&1; then
    runuser -u munge -- "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -u munge -- "$@"
  else
    su -s /bin/sh munge -c "$(printf '%q ' "$@")"
  fi
}

munge_works() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

start_munged() {
  if running "$MUNGED_PID" munged; then
    return 0
  fi
  if munge_works; then
    # a munged we did not start (e.g. an init script) already serves the socket: use it, do not start a second
    say "munged: already serving $MUNGE_SOCKET_DIR (not started by this script); using it"
    return 0
  fi
  getent passwd munge >/dev/null || die "user munge missing (is the munge package installed?)"
  # The munge package's postinst creates the key; recreate it if someone removed it.
  if [ ! -s "$MUNGE_KEY" ]; then
    say "munged: creating $MUNGE_KEY"
    mkdir -p "$(dirname "$MUNGE_KEY")"
    if command -v mungekey >/dev/null 2>&1; then
      mungekey --create --keyfile="$MUNGE_KEY" --force
    else
      dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 status=none
    fi
  fi
  # munged refuses a key, socket dir or log dir that is not owned by its user or is writable by others.
  chown munge:munge "$MUNGE_KEY" "$(dirname "$MUNGE_KEY")"
  chmod 0400 "$MUNGE_KEY"
  chmod 0700 "$(dirname "$MUNGE_KEY")"
  install -d -o munge -g munge -m 0755 "$MUNGE_SOCKET_DIR"
  install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
  install -d -o munge -g munge -m 0700 "$MUNGE_DIR"
  rm -f "$MUNGED_PID"
  say "munged: starting"
  # munged daemonizes and its parent exits non-zero if the daemon could not start.
  # 9>&-: do not hand our lock fd to the daemon (munged keeps inherited fds open, and would hold the lock forever).
  as_munge /usr/sbin/munged --pid-file="$MUNGED_PID" --log-file="$MUNGED_LOG" 9>&- ||
    fail "munged failed to start"
  local i
  for ((i = 0; i < 100; i++)); do
    munge_works && running "$MUNGED_PID" munged && return 0
    sleep 0.1
  done
  fail "munged started but munge -n | unmunge does not work"
}

start_slurmctld() {
  running "$CTLD_PID" slurmctld && return 0
  say "slurmctld: starting"
  # -i: ignore (do not abort on) unreadable state files left by an earlier, killed run.
  # slurmctld daemonizes and writes SlurmctldPidFile itself.
  /usr/sbin/slurmctld -i 9>&- || fail "slurmctld failed to start"
  wait_pidfile slurmctld "$CTLD_PID"
}

start_slurmd() {
  running "$SLURMD_PID" slurmd && return 0
  say "slurmd: starting"
  # -N: this machine's hostname is not "localhost", and the node is declared as localhost (NodeAddr 127.0.0.1),
  # so slurmd must be told which NodeName it is.
  /usr/sbin/slurmd -N "$NODE" 9>&- || fail "slurmd failed to start"
  wait_pidfile slurmd "$SLURMD_PID"
}

node_state() { sinfo -h -n "$NODE" -o %T 2>/dev/null | head -n 1; }

wait_ready() {
  local deadline=$((SECONDS + TIMEOUT)) state="" resumed=0
  while :; do
    state=$(node_state || true)
    case "$state" in
      # idle is the usual answer; a cluster that was already running may be busy with jobs, which is ready too
      idle | mixed | allocated | completing)
        say "ready: node $NODE is $state (SLURM_CONF=$CONF)"
        return 0
        ;;
      down* | drain*)
        # e.g. a node left DOWN in the saved state: after slurmd has registered, resume it once
        if [ "$resumed" = 0 ] && [ $((SECONDS + TIMEOUT - deadline)) -ge 5 ]; then
          say "node $NODE is $state; trying scontrol update state=resume"
          scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true
          resumed=1
        fi
        ;;
    esac
    running "$CTLD_PID" slurmctld || fail "slurmctld exited during startup"
    running "$SLURMD_PID" slurmd || fail "slurmd exited during startup"
    [ "$SECONDS" -lt "$deadline" ] || break
    sleep 0.5
  done
  scontrol show node "$NODE" >&2 2>/dev/null || true
  fail "node $NODE not idle after ${TIMEOUT}s (last state: '${state:-no answer from slurmctld}')"
}

cmd_start() {
  install_packages
  write_config
  if [ "$CONFIG_CHANGED" = 1 ] && { running "$CTLD_PID" slurmctld || running "$SLURMD_PID" slurmd; }; then
    say "slurm.conf changed: restarting the slurm daemons"
    stop_daemon slurmd "$SLURMD_PID"
    stop_daemon slurmctld "$CTLD_PID"
  fi
  # slurmctld/slurmd create the spool and state dirs themselves only in some versions; make them here.
  mkdir -p "$RUN" "$LOG" "$DIR/spool" "$DIR/state"
  chmod 0755 "$DIR" "$RUN" "$LOG"
  chmod 0700 "$DIR/state"
  start_munged
  start_slurmctld
  start_slurmd
  wait_ready
}

cmd_stop() {
  stop_daemon slurmd "$SLURMD_PID"
  stop_daemon slurmctld "$CTLD_PID"
  stop_daemon munged "$MUNGED_PID"
}

cmd_status() {
  local rc=0 pid name file
  for name in munged slurmctld slurmd; do
    case $name in
      munged) file=$MUNGED_PID ;;
      slurmctld) file=$CTLD_PID ;;
      slurmd) file=$SLURMD_PID ;;
    esac
    if pid=$(pid_of "$file" "$name"); then
      printf '%-10s running (pid %s)\n' "$name" "$pid"
    else
      printf '%-10s stopped\n' "$name"
      rc=3
    fi
  done
  if command -v sinfo >/dev/null 2>&1; then
    printf '%-10s %s\n' node "$(node_state || true)"
  else
    printf '%-10s %s\n' node "(slurm not installed)"
  fi
  printf '%-10s %s\n' conf "$CONF"
  return $rc
}

cmd_env() {
  printf 'export SLURM_CONF=%q\n' "$CONF"
}

main() {
  [ "$(id -u)" = 0 ] || [ "${1:-}" = env ] || [ "${1:-}" = status ] || die "must run as root (installs packages, starts daemons)"
  case "${1:-}" in
    start | stop)
      mkdir -p "$DIR"
      # Serialize concurrent start/stop calls (e.g. tests run in parallel) so no two sets of daemons appear.
      exec 9>"$DIR/.lock"
      flock -w 300 9 || die "could not lock $DIR/.lock within 300 s"
      "cmd_$1"
      ;;
    status) cmd_status ;;
    env) cmd_env ;;
    *)
      echo "usage: $0 start|stop|status|env" >&2
      exit 2
      ;;
  esac
}

main "$@"
