#!/bin/sh
# Test miner: serves GET /version and GET /health on 127.0.0.1:$MINER_PORT with busybox httpd.
# Runs unchanged under bubblewrap slim (host busybox), bubblewrap full and Docker (busybox rootfs).
# Behaviour switches are files baked into the release, next to bin/: VERSION, FAIL_HEALTH (no /health),
# CRASH_TIMES (exit 3 on the first N starts, counted in the data dir), EXIT_AFTER (seconds, then exit 4).
here=$(busybox dirname "$0")/..
port=${MINER_PORT:?MINER_PORT is required}
data=${MINER_DATA:-/var/lib/miner}
version=$(busybox cat "$here/VERSION")
busybox mkdir -p "$data"
echo "$(busybox date +%s) $version $$" >>"$data/starts.log"
if [ -f "$here/CRASH_TIMES" ]; then
  limit=$(busybox cat "$here/CRASH_TIMES")
  count=$(busybox cat "$data/crash-count" 2>/dev/null || echo 0)
  if [ "$count" -lt "$limit" ]; then
    echo $((count + 1)) >"$data/crash-count"
    echo "test miner $version: crashing on purpose ($((count + 1))/$limit)" >&2
    exit 3
  fi
fi
www=$(busybox mktemp -d /tmp/miner-www.XXXXXX)
echo "$version" >"$www/version"
busybox grep CapEff /proc/self/status >"$www/caps"
busybox id -u >"$www/uid"
[ -f "$here/FAIL_HEALTH" ] || echo ok >"$www/health"
echo "test miner $version listening on 127.0.0.1:$port"
# httpd runs as a child so that this shell, possibly PID 1 in a container, can handle SIGTERM (PID 1
# gets no default signal actions) and stop at once.
busybox httpd -f -p "127.0.0.1:$port" -h "$www" &
server=$!
# A clean stop is recorded in the data dir: a SIGKILL leaves no such line.
trap 'busybox kill $server 2>/dev/null; echo "$(busybox date +%s) $version stop" >>"$data/starts.log"; exit 0' TERM INT
if [ -f "$here/EXIT_AFTER" ]; then
  busybox sleep "$(busybox cat "$here/EXIT_AFTER")" &
  wait $!
  busybox kill $server 2>/dev/null
  exit 4
fi
wait $server
exit 5
