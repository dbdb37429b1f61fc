#!/usr/bin/env bash
# Start / stop / check the local source servers, all on 127.0.0.1 (sample_sources/servers):
#   http  the HTTPS API (crop-statistics exports, OCOP pages, EPCIS documents, the GTFS feed), bearer token
#   ftp   the FTPS drop the wastewater monitors push their per-transmission files to
#   mqtt  the MQTT broker (TLS) stations and vehicles publish to (Debian's mosquitto, infra/mqtt/mqtt.sh)
#   smtp  the local mail server alert e-mail goes to (aiosmtpd; every message a file in .state/mail/new)
# `publish YYYY-MM-DD` registers the landers' durable sessions, then replays the day's live
# messages (air-quality readings, vehicle GPS pings) onto the broker; a day already published is
# skipped (its retained manifest is on the broker).
set -euo pipefail
cmd=${1:-status}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
state=${LAKEHOUSE_STATE_DIR:-$root/.state}
py=${PYTHON:-$root/.venv/bin/python}
src=${LAKEHOUSE_SOURCE_ROOT:-$state/sources}
dir=$state/servers
http_port=${LAKEHOUSE_HTTP_SOURCE_PORT:-8780}
ftp_port=${LAKEHOUSE_FTP_PORT:-2121}
smtp_port=${LAKEHOUSE_SMTP_PORT:-8025}
mail=$state/mail
mkdir -p "$dir"

alive() { [ -f "$dir/$1.pid" ] && kill -0 "$(cat "$dir/$1.pid")" 2>/dev/null; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_server() {  # name port module args...
  local name=$1 port=$2; shift 2
  if alive "$name" && listening "$port"; then echo "$name source server already up on 127.0.0.1:$port"; return; fi
  if listening "$port"; then echo "port $port is taken by another program; set the $name port to a free one" >&2; exit 1; fi
  nohup "$py" -m "$@" --root "$src" --port "$port" >"$dir/$name.log" 2>&1 &
  echo $! >"$dir/$name.pid"
  for _ in $(seq 1 60); do
    listening "$port" && { echo "$name source server up on 127.0.0.1:$port (log $dir/$name.log)"; return; }
    alive "$name" || { echo "$name source server exited during start:" >&2; tail -20 "$dir/$name.log" >&2; exit 1; }
    sleep 0.5
  done
  echo "$name source server did not listen within 30 s; see $dir/$name.log" >&2; exit 1
}

start_smtp() {  # a plain local SMTP server (loopback only) that keeps each message in the Maildir $mail
  if alive smtp && listening "$smtp_port"; then echo "smtp server already up on 127.0.0.1:$smtp_port"; return; fi
  if listening "$smtp_port"; then echo "port $smtp_port is taken by another program; set LAKEHOUSE_SMTP_PORT" >&2; exit 1; fi
  nohup "$py" -m aiosmtpd -n -l "127.0.0.1:$smtp_port" -c aiosmtpd.handlers.Mailbox "$mail" >"$dir/smtp.log" 2>&1 &
  echo $! >"$dir/smtp.pid"
  for _ in $(seq 1 60); do
    listening "$smtp_port" && { echo "smtp server up on 127.0.0.1:$smtp_port (mail in $mail/new)"; return; }
    alive smtp || { echo "smtp server exited during start:" >&2; tail -20 "$dir/smtp.log" >&2; exit 1; }
    sleep 0.5
  done
  echo "smtp server did not listen within 30 s; see $dir/smtp.log" >&2; exit 1
}

stop_server() {
  if alive "$1"; then kill "$(cat "$dir/$1.pid")"; echo "$1 source server stopped"; fi
  rm -f "$dir/$1.pid"
}

case $cmd in
  start)
    mkdir -p "$src"
    # HTTPS, FTPS and MQTT over TLS: the local CA and server certificate (infra/gen_tls.py), once.
    "$py" "$root/infra/gen_tls.py" "$(dirname "${LAKEHOUSE_TLS_CA:-$state/tls/ca.crt}")"
    start_server http "$http_port" sample_sources.servers.http_api
    start_server ftp "$ftp_port" sample_sources.servers.ftp_server
    start_smtp
    "$here/../mqtt/mqtt.sh" start ;;
  publish)
    day=${2:?usage: $0 publish YYYY-MM-DD}
    ymd=$(date -d "$day" +%Y%m%d)
    "$py" -m jobs.extract.mqtt register
    "$py" -m sample_sources.servers.mqtt_publisher --no-progress --topic lakehouse/environment/air_quality \
      --topic-field station_id --event-time measured_at --file "$src/environment/air_quality/readings_$ymd.csv"
    # No --topic-field for vehicles: a plate in a topic name would leak personal data to the broker's logs.
    "$py" -m sample_sources.servers.mqtt_publisher --no-progress --topic lakehouse/transport/vehicle_position \
      --event-time recorded_at --file "$src/transport/vehicle_positions/positions_$ymd.jsonl" ;;
  stop)
    stop_server http
    stop_server ftp
    stop_server smtp
    "$here/../mqtt/mqtt.sh" stop ;;
  status)
    rc=0
    for s in http:$http_port ftp:$ftp_port smtp:$smtp_port; do
      if alive "${s%%:*}" && listening "${s##*:}"; then echo "${s%%:*}: running on 127.0.0.1:${s##*:}"; else echo "${s%%:*}: not running"; rc=1; fi
    done
    "$here/../mqtt/mqtt.sh" status || rc=1
    exit $rc ;;
  *) echo "usage: $0 start|publish DATE|stop|status" >&2; exit 2 ;;
esac
