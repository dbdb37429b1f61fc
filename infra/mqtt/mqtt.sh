#!/usr/bin/env bash
# Start / stop / check the local MQTT broker (Debian's mosquitto, `make mqtt-install`), TLS only,
# with its config, password files, ACLs, persistence and log under $LAKEHOUSE_MQTT_DIR (default .state/mqtt):
#   127.0.0.1:$LAKEHOUSE_MQTT_PORT (default 1884)        the lander: LAKEHOUSE_MQTT_USER (default lakehouse) /
#                                                        LAKEHOUSE_MQTT_PASSWORD; reads everything, writes only
#                                                        its drain markers (<topic>/_lander/...)
#   127.0.0.1:$LAKEHOUSE_MQTT_DEVICE_PORT (default +1)   the sources: LAKEHOUSE_MQTT_PUBLISHER_USER (default
#                                                        publisher) / _PASSWORD, the gateway that replays files
#                                                        and states the day's manifests; and one login per
#                                                        device in LAKEHOUSE_MQTT_DEVICES (ids, space-separated;
#                                                        passwords generated into $dir/devices.env), each may
#                                                        only publish on <a>/<b>/<c>/<its id>, subscribe nothing
#                                                        (infra/mqtt/device_acl.py, mosquitto's dynsec plugin).
# Certificates: the local CA of infra/gen_tls.py next to $LAKEHOUSE_TLS_CA (default .state/tls/ca.crt), made on first use.
# Tests start a private broker the same way, on a free port in a temp dir.
set -euo pipefail
cmd=${1:-status}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
state=${LAKEHOUSE_STATE_DIR:-$root/.state}
dir=${LAKEHOUSE_MQTT_DIR:-$state/mqtt}
port=${LAKEHOUSE_MQTT_PORT:-1884}
device_port=${LAKEHOUSE_MQTT_DEVICE_PORT:-$((port + 1))}
user=${LAKEHOUSE_MQTT_USER:-lakehouse}
publisher=${LAKEHOUSE_MQTT_PUBLISHER_USER:-publisher}
tls=$(dirname "${LAKEHOUSE_TLS_CA:-$state/tls/ca.crt}")  # the local CA and the server certificate next to it
py=${PYTHON:-$root/.venv/bin/python}
dynsec=${MOSQUITTO_DYNSEC:-/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so}
bin=${MOSQUITTO_BIN:-/usr/sbin/mosquitto}
pidfile=$dir/mosquitto.pid

alive() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

case $cmd in
  start)
    if alive && listening; then echo "MQTT broker already running on 127.0.0.1:$port (pid $(cat "$pidfile"))"; exit 0; fi
    [ -x "$bin" ] || { echo "no mosquitto at $bin: run 'make mqtt-install' (apt-get install mosquitto)" >&2; exit 1; }
    : "${LAKEHOUSE_MQTT_PASSWORD:?LAKEHOUSE_MQTT_PASSWORD is not set: run via make (it loads .state/secrets.env)}"
    : "${LAKEHOUSE_MQTT_PUBLISHER_PASSWORD:?LAKEHOUSE_MQTT_PUBLISHER_PASSWORD is not set: run via make (it loads .state/secrets.env)}"
    if listening || (exec 3<>"/dev/tcp/127.0.0.1/$device_port") 2>/dev/null; then
      echo "port $port or $device_port is taken by another program; set LAKEHOUSE_MQTT_PORT / LAKEHOUSE_MQTT_DEVICE_PORT to free ports" >&2; exit 1
    fi
    "$py" "$root/infra/gen_tls.py" "$tls"
    mkdir -p "$dir/data"
    umask 077
    # Password files from the environment, hashed in place (no password ever appears in argv).
    printf '%s:%s\n' "$user" "$LAKEHOUSE_MQTT_PASSWORD" >"$dir/passwd-lander"
    touch "$dir/devices.env"
    for id in ${LAKEHOUSE_MQTT_DEVICES:-}; do
      [[ $id =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || { echo "device id '$id' is not a topic-safe name" >&2; exit 1; }
      [[ $id != "$publisher" && $id != "$user" && $id != lakehouse-* ]] || { echo "device id '$id' is reserved" >&2; exit 1; }
      grep -q "^$id=" "$dir/devices.env" || printf '%s=%s\n' "$id" "$(head -c 30 /dev/urandom | base64 | tr -d '/+=\n')" >>"$dir/devices.env"
    done
    mosquitto_passwd -U "$dir/passwd-lander"
    # The lander reads everything and writes only its drain markers (a denied QoS-1 publish gets
    # PUBACK "Not authorized"). The devices' listener: logins and ACLs in the dynamic-security file.
    cat >"$dir/acl-lander" <<ACL
user $user
topic read #
topic write +/_lander/#
topic write +/+/_lander/#
topic write +/+/+/_lander/#
topic write +/+/+/+/_lander/#
ACL
    "$py" "$here/device_acl.py" "$dir/dynsec.json" "$dir/devices.env"
    sed -e "s|@PORT@|$port|g" -e "s|@DEVICE_PORT@|$device_port|g" -e "s|@DIR@|$dir|g" -e "s|@TLS@|$tls|g" -e "s|@DYNSEC@|$dynsec|g" -e "s|@USER@|$(id -un)|g" \
      "$here/mosquitto.conf.template" >"$dir/mosquitto.conf"
    nohup "$bin" -c "$dir/mosquitto.conf" >>"$dir/mosquitto.out" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 100); do
      listening && { echo "MQTT broker up on 127.0.0.1:$port (lander) and :$device_port (devices), TLS (pid $(cat "$pidfile"), state in $dir)"; exit 0; }
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
