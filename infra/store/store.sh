#!/usr/bin/env bash
# Start / stop / check the embedded S3 store (MinIO, built from source by `make minio`) on
# 127.0.0.1, HTTPS only, with its data under the gitignored state dir. Only this script and
# infra/store/bootstrap.py know the store is MinIO; the pipeline speaks plain S3 over TLS.
# Certificate: the local servers' one of infra/gen_tls.py (127.0.0.1 and localhost, signed by the
# local CA $LAKEHOUSE_TLS_CA, default .state/tls/ca.crt), made on first use and copied into MinIO's
# --certs-dir ($dir/certs: public.crt, private.key, CAs/ca.crt) at every start. A plain-HTTP request
# gets "400 Client sent an HTTP request to an HTTPS server" and no S3 answer.
set -euo pipefail
cmd=${1:-status}
root=$(cd "$(dirname "$0")/../.." && pwd)
state=${LAKEHOUSE_STATE_DIR:-$root/.state}
bin=${MINIO_BIN:-$root/.tools/bin/minio}
port=${LAKEHOUSE_S3_PORT:-9900}
console_port=$((port + 1))
dir=$state/minio
pidfile=$dir/minio.pid
url=https://127.0.0.1:$port
ca=${LAKEHOUSE_TLS_CA:-$state/tls/ca.crt}
tls=$(dirname "$ca")  # the local CA and the servers' certificate next to it
py=${PYTHON:-$root/.venv/bin/python}

alive() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
healthy() { curl -sf --cacert "$ca" -o /dev/null "$url/minio/health/live"; }  # the certificate checked
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

case $cmd in
  start)
    if alive && healthy; then echo "store already running at $url (pid $(cat "$pidfile"))"; exit 0; fi
    [ -x "$bin" ] || { echo "no MinIO binary at $bin: run 'make minio' (builds it with the Go toolchain)" >&2; exit 1; }
    : "${MINIO_ROOT_USER:?MINIO_ROOT_USER is not set: run via make (it loads .state/secrets.env)}"
    : "${MINIO_ROOT_PASSWORD:?MINIO_ROOT_PASSWORD is not set}"
    if alive; then
      echo "a store is running (pid $(cat "$pidfile")) but does not answer at $url with a certificate of $ca" \
        "(a plain-HTTP store of an older checkout?): run 'make store-stop', then start it again" >&2; exit 1
    fi
    if listening; then
      echo "port $port is taken by another program; set LAKEHOUSE_S3_PORT to a free port" >&2; exit 1
    fi
    "$py" "$root/infra/gen_tls.py" "$tls"
    mkdir -p "$dir/data" "$dir/certs/CAs"
    (umask 077 && cp "$tls/server.key" "$dir/certs/private.key")
    cp "$tls/server.crt" "$dir/certs/public.crt"
    cp "$ca" "$dir/certs/CAs/ca.crt"
    MINIO_BROWSER=off MINIO_UPDATE=off \
      nohup "$bin" server --quiet --certs-dir "$dir/certs" --address "127.0.0.1:$port" \
      --console-address "127.0.0.1:$console_port" "$dir/data" >"$dir/minio.log" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 120); do
      healthy && { echo "store up at $url (pid $(cat "$pidfile"), data in $dir/data)"; exit 0; }
      alive || { echo "store exited during start; see $dir/minio.log:" >&2; tail -20 "$dir/minio.log" >&2; exit 1; }
      sleep 0.5
    done
    echo "store did not become healthy within 60 s; see $dir/minio.log" >&2; exit 1 ;;
  stop)
    if alive; then
      kill "$(cat "$pidfile")"
      for _ in $(seq 1 40); do alive || break; sleep 0.25; done
      alive && kill -9 "$(cat "$pidfile")" || true
      echo "store stopped"
    fi
    rm -f "$pidfile" ;;
  status)
    if alive && healthy; then echo "running at $url (pid $(cat "$pidfile"))"; else echo "not running"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
