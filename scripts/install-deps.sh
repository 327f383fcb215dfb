#!/usr/bin/env bash
# System packages the real-client tests and the benchmarks drive, from Debian: coturn
# (turnserver and its turnutils_* clients), chromium, openssl, nginx and wrk (the signaling
# proxy's benchmark peer and load), PostgreSQL and Redis (the stores of a cluster) and nftables
# with iproute2 (the firewall of the network-namespace tests), and libfaketime (clock-jump tests).
# Idempotent: installs only what is missing (as root: one `apt-get update`, one
# `apt-get install`), then stops a system turnserver that Debian's coturn service may have
# started, by its pidfile only (never by process name). Tests start their own nginx and
# PostgreSQL servers on free ports; the system services, if any, are left alone.
set -euo pipefail

missing=()
have() { command -v "$1" >/dev/null 2>&1; }
for bin in turnserver turnutils_uclient turnutils_peer turnutils_stunclient; do
  have "$bin" || missing+=("$bin")
done
have chromium || missing+=(chromium)
have openssl || missing+=(openssl)
have nginx || [[ -x /usr/sbin/nginx ]] || missing+=(nginx-light)
have wrk || missing+=(wrk)
have nft || missing+=(nftables)
have ip || missing+=(iproute2)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
have redis-server || missing+=(redis-server)
[[ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 ]] || missing+=(faketime)

if ((${#missing[@]} > 0)); then
  echo "install-deps: missing ${missing[*]}"
  if [[ "$(id -u)" -ne 0 ]]; then
    echo "install-deps: error: not root; install the Debian packages yourself:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y coturn chromium openssl nginx-light wrk postgresql redis-server nftables iproute2 faketime" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Wait (bounded) for another apt/dpkg run to release its locks instead of failing at once.
  apt_opts=(-o DPkg::Lock::Timeout=600)
  apt-get "${apt_opts[@]}" update
  apt-get "${apt_opts[@]}" install -y coturn chromium openssl nginx-light wrk postgresql redis-server nftables iproute2 faketime
  for bin in turnserver turnutils_uclient chromium openssl; do
    have "$bin" || {
      echo "install-deps: error: $bin still missing after apt-get install" >&2
      exit 1
    }
  done
fi

# Debian's coturn package may start a system turnserver (port 3478): stop that one only, found
# through its pidfile, and only if the pid really is a turnserver (a stale pidfile's pid may
# belong to something else by now).
seen=()
for pidfile in /var/run/turnserver.pid /run/turnserver/turnserver.pid /run/turnserver.pid; do
  [[ -r "$pidfile" ]] || continue
  real="$(readlink -f "$pidfile")"
  [[ " ${seen[*]-} " == *" $real "* ]] && continue
  seen+=("$real")
  pid="$(head -n 1 "$pidfile" | tr -dc '0-9')"
  [[ -n "$pid" && -r "/proc/$pid/comm" ]] || continue
  [[ "$(cat "/proc/$pid/comm")" == "turnserver" ]] || continue
  echo "install-deps: stopping the system turnserver (pid $pid from $pidfile)"
  if ! kill -TERM "$pid" 2>/dev/null; then
    echo "install-deps: warning: cannot signal pid $pid (not root?); it may hold port 3478" >&2
    continue
  fi
  for _ in $(seq 1 50); do
    [[ -e "/proc/$pid" ]] || break
    sleep 0.1
  done
  if [[ -e "/proc/$pid" ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
done

echo "install-deps: ok ($(turnserver --version 2>/dev/null | head -n 1 || echo '?') coturn," \
  "$(chromium --version 2>/dev/null | head -n 1 || echo 'chromium ?'), $(openssl version))"
