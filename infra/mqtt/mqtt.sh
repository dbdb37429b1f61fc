#!/usr/bin/env bash
# Start / stop / check the local MQTT broker (Debian's mosquitto, `make mqtt-install`) on
# 127.0.0.1:$LAKEHOUSE_MQTT_PORT (default 1884), with its config, password file, persistence and
# log under $LAKEHOUSE_MQTT_DIR (default .state/mqtt). The user and password come from
# LAKEHOUSE_MQTT_USER (default lakehouse) / LAKEHOUSE_MQTT_PASSWORD (generated into .state/secrets.env).
# Tests start a private broker the same way, on a free port in a temp dir.
set -euo pipefail
cmd=${1:-status}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
state=${LAKEHOUSE_STATE_DIR:-$root/.state}
dir=${LAKEHOUSE_MQTT_DIR:-$state/mqtt}
port=${LAKEHOUSE_MQTT_PORT:-1884}
user=${LAKEHOUSE_MQTT_USER:-lakehouse}
bin=${MOSQUITTO_BIN:-/usr/sbin/mosquitto}
pidfile=$dir/mosquitto.pid

alive() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

case $cmd in
  start)
    if alive && listening; then echo "MQTT broker already running on 127.0.0.1:$port (pid $(cat "$pidfile"))"; exit 0; fi
    [ -x "$bin" ] || { echo "no mosquitto at $bin: run 'make mqtt-install' (apt-get install mosquitto)" >&2; exit 1; }
    : "${LAKEHOUSE_MQTT_PASSWORD:?LAKEHOUSE_MQTT_PASSWORD is not set: run via make (it loads .state/secrets.env)}"
    if listening; then
      echo "port $port is taken by another program; set LAKEHOUSE_MQTT_PORT to a free port" >&2; exit 1
    fi
    mkdir -p "$dir/data"
    # Password file from the environment, hashed in place (the password never appears in argv).
    umask 077
    printf '%s:%s\n' "$user" "$LAKEHOUSE_MQTT_PASSWORD" >"$dir/passwd"
    mosquitto_passwd -U "$dir/passwd"
    sed -e "s|@PORT@|$port|g" -e "s|@DIR@|$dir|g" -e "s|@USER@|$(id -un)|g" \
      "$here/mosquitto.conf.template" >"$dir/mosquitto.conf"
    nohup "$bin" -c "$dir/mosquitto.conf" >>"$dir/mosquitto.out" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 100); do
      listening && { echo "MQTT broker up on 127.0.0.1:$port (pid $(cat "$pidfile"), state in $dir)"; exit 0; }
      alive || { echo "mosquitto exited during start; see $dir/mosquitto.log:" >&2; tail -20 "$dir/mosquitto.log" "$dir/mosquitto.out" >&2 2>/dev/null; exit 1; }
      sleep 0.1
    done
    echo "mosquitto did not listen on 127.0.0.1:$port within 10 s; see $dir/mosquitto.log" >&2; exit 1 ;;
  stop)
    # SIGTERM: mosquitto saves its persistence database (queued messages) before exiting.
    if alive; then
      kill "$(cat "$pidfile")"
      for _ in $(seq 1 100); do alive || break; sleep 0.1; done
      alive && kill -9 "$(cat "$pidfile")" || true
      echo "MQTT broker stopped"
    fi
    rm -f "$pidfile" ;;
  status)
    if alive && listening; then echo "running on 127.0.0.1:$port (pid $(cat "$pidfile"))"; else echo "not running"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
