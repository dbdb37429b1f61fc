#!/usr/bin/env bash
# The pipeline on a cluster topology, every process on 127.0.0.1, no containers (issue 15):
#   spark    a standalone master, CLUSTER_SPARK_WORKERS workers and the history server (pyspark's spark-class)
#   store    MinIO in distributed mode (4 server processes × 2 drives, erasure coded) behind haproxy
#   pg       PostgreSQL (Debian's package) for Airflow's metadata
#   sources  this deployment's own source servers (HTTPS API, FTPS drop, MQTT broker, SMTP)
#   airflow  api-server, scheduler (LocalExecutor), dag-processor and triggerer as separate processes
# usage: cluster.sh up|run|down|status|days|env|airflow ARGS…|exec COMMAND…|start|stop|crash COMPONENT
# Configuration: infra/cluster/cluster.env (the only place the cluster differs from the laptop).
# Secrets: the pipeline's come from the caller (make loads .state/secrets.env); the cluster's own
# (PostgreSQL password, Airflow's JWT and session keys) are generated once into
# $LAKEHOUSE_CLUSTER_DIR/secrets.env (mode 600, gitignored with the rest of .state).
set -euo pipefail
cmd=${1:-status}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
py=${PYTHON:-$root/.venv/bin/python}
bin=$root/.venv/bin
# shellcheck source=infra/cluster/cluster.env
. "$here/cluster.env"
dir=$LAKEHOUSE_CLUSTER_DIR
pids=$dir/pids logs=$dir/logs
mkdir -p "$pids" "$logs"

# Each process starts in a session of its own (setsid), its pid = the session's id; stopping a
# component ends its whole session, as systemd's KillMode=control-group would. A session can hold
# several process groups: Airflow 3.3's task runners make a group of their own inside their
# scheduler's session. A scheduler's LocalExecutor workers are forks that share its database
# connection: left behind by a SIGKILLed scheduler, they kept its transaction open ("idle in
# transaction", rows locked) and the next scheduler scheduled nothing for six minutes (drilled;
# README "On a cluster").
alive() { [ -f "$pids/$1.pid" ] && kill -0 "$(cat "$pids/$1.pid")" 2>/dev/null; }
session_pids() { [ -f "$pids/$1.pid" ] && pgrep -s "$(cat "$pids/$1.pid")"; }
group_alive() { session_pids "$1" >/dev/null; }
kill_session() { local p; for p in $(session_pids "$1"); do kill "-$2" "$p" 2>/dev/null || true; done; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() {  # name seconds command...: poll until the command succeeds or the process dies
  local name=$1 seconds=$2; shift 2
  for _ in $(seq 1 $((seconds * 2))); do
    "$@" >/dev/null 2>&1 && return 0
    alive "$name" || { echo "$name exited during start; see $logs/$name.log:" >&2; tail -20 "$logs/$name.log" >&2; return 1; }
    sleep 0.5
  done
  echo "$name did not become ready within $seconds s; see $logs/$name.log" >&2; return 1
}
launch() {  # name port command...: start a process in the background, its pid in $pids/name.pid
  local name=$1 port=$2; shift 2
  if alive "$name"; then echo "  $name already running (pid $(cat "$pids/$name.pid"))"; return 1; fi
  if group_alive "$name"; then  # the leader died and left its children: end them first
    kill_session "$name" KILL; sleep 0.5
  fi
  if [ "$port" != - ] && listening "$port"; then
    echo "port $port (for $name) is taken by another program: stop it or change infra/cluster/cluster.env" >&2; exit 1
  fi
  setsid nohup "$@" >"$logs/$name.log" 2>&1 </dev/null &  # not a group leader here: setsid execs, $! is the pid
  echo $! >"$pids/$name.pid"
}
launch_bare() {  # name port command...: launch without a secret in the environment (but those in $keep)
  local scrub=(env) v
  for v in $(compgen -e); do
    case " ${keep:-} " in *" $v "*) continue ;; esac
    case $v in *KEY*|*SECRET*|*PASSWORD*|*TOKEN*|*SQL_ALCHEMY_CONN*|MINIO_ROOT_*) scrub+=(-u "$v") ;; esac
  done
  launch "$1" "$2" "${scrub[@]}" "${@:3}"
}
stop_one() {  # name: TERM to its process group, then KILL what is left of its session after 20 s
  group_alive "$1" || alive "$1" || { rm -f "$pids/$1.pid"; return 0; }
  local pid; pid=$(cat "$pids/$1.pid")
  kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 80); do group_alive "$1" || alive "$1" || break; sleep 0.25; done
  kill_session "$1" KILL
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pids/$1.pid"
  echo "  $1 stopped"
}
leftovers() {  # processes started by this cluster (their environment names its state dir), but us
  "$py" - "$dir" <<'PY'
import os, sys
marker = f"LAKEHOUSE_STATE_DIR={sys.argv[1]}".encode()
ours, pid = set(), os.getpid()
while pid > 1:  # this process and its ancestors (cluster.sh, make, the shell) are not leftovers
    ours.add(pid)
    with open(f"/proc/{pid}/stat") as stat:
        pid = int(stat.read().rsplit(")", 1)[1].split()[1])
for entry in os.listdir("/proc"):
    if entry.isdigit() and int(entry) not in ours:
        try:
            with open(f"/proc/{entry}/environ", "rb") as env, open(f"/proc/{entry}/cmdline", "rb") as cmd:
                if marker in env.read().split(b"\0"):
                    print(entry, cmd.read().replace(b"\0", b" ").decode(errors="replace")[:150])
        except OSError:
            pass
PY
}
crash_one() {  # name: SIGKILL every process of its session at once (its host lost, for drills)
  kill_session "$1" KILL
  for _ in $(seq 1 40); do group_alive "$1" || break; sleep 0.25; done
  echo "  $1 killed (SIGKILL, its whole session: the scheduler's executor and task processes too)"
}

secrets() {  # the cluster's own generated secrets, once
  local file=$dir/secrets.env
  if [ ! -s "$file" ]; then
    (umask 077 && "$py" - "$file" <<'PY'
import secrets, sys
pw = secrets.token_urlsafe(24).replace("-", "x").replace("_", "y")
with open(sys.argv[1], "w") as out:
    out.write(f"CLUSTER_PG_PASSWORD={pw}\n")
    out.write(f"AIRFLOW__API_AUTH__JWT_SECRET={secrets.token_urlsafe(32)}\n")
    out.write(f"AIRFLOW__API__SECRET_KEY={secrets.token_urlsafe(32)}\n")
PY
    )
  fi
  set -a; . "$file"; set +a
  export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql+psycopg2://airflow:$CLUSTER_PG_PASSWORD@127.0.0.1:$CLUSTER_PG_PORT/airflow"
}

# --- PostgreSQL ------------------------------------------------------------------------------------
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }  # postgres never runs as root
pg_start() {
  [ -x "$pg_bin/postgres" ] || { echo "no PostgreSQL server: run 'make cluster-install' (Debian's postgresql)" >&2; exit 1; }
  local data=$dir/postgres/data run=$dir/postgres/run
  mkdir -p "$dir/postgres/run"
  [ "$(id -u)" = 0 ] && chown -R postgres: "$dir/postgres"
  if [ ! -f "$data/PG_VERSION" ]; then
    as_pg "$pg_bin/initdb" -D "$data" -U postgres --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$logs/pg-initdb.log"
  fi
  if as_pg "$pg_bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then echo "  postgres already running"; else
    listening "$CLUSTER_PG_PORT" && { echo "port $CLUSTER_PG_PORT (postgres) is taken" >&2; exit 1; }
    as_pg "$pg_bin/pg_ctl" -D "$data" -l "$dir/postgres/postgres.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $CLUSTER_PG_PORT -k $run -c max_connections=200" start >/dev/null
  fi
  # The airflow role and database (idempotent; the password from the cluster's secrets file).
  as_pg psql -h "$run" -p "$CLUSTER_PG_PORT" -U postgres -q -v ON_ERROR_STOP=1 -v pw="$CLUSTER_PG_PASSWORD" >/dev/null <<'SQL'
SELECT format('CREATE ROLE airflow LOGIN PASSWORD %L', :'pw') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'airflow') \gexec
SELECT format('ALTER ROLE airflow PASSWORD %L', :'pw') \gexec
SELECT 'CREATE DATABASE airflow OWNER airflow' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'airflow') \gexec
SQL
  echo "  postgres up on 127.0.0.1:$CLUSTER_PG_PORT (data in $data)"
}
pg_stop() {
  [ -f "$dir/postgres/data/PG_VERSION" ] || return 0
  if as_pg "$pg_bin/pg_ctl" -D "$dir/postgres/data" status >/dev/null 2>&1; then
    as_pg "$pg_bin/pg_ctl" -D "$dir/postgres/data" -m fast -w stop >/dev/null && echo "  postgres stopped"
  fi
}

# --- The store: MinIO distributed behind haproxy -----------------------------------------------------
minio_port() { echo $((CLUSTER_S3_PORT + $1)); }
minio_endpoints() {
  local n d
  for n in $(seq 1 "$CLUSTER_MINIO_NODES"); do
    for d in $(seq 1 "$CLUSTER_MINIO_DRIVES"); do echo "https://127.0.0.1:$(minio_port "$n")$dir/minio/node$n/drive$d"; done
  done
}
minio_start_node() {  # n
  local n=$1 port; port=$(minio_port "$1")
  mkdir -p "$dir/minio/node$n"
  # Every node serves the whole namespace; the drives of all four make one erasure set (EC:4 of 8).
  # MINIO_CI_CD: the drives share the root disk here, which MinIO refuses for production otherwise.
  # _MINIO_SERVER_LOCAL: this host has /.dockerenv, and MinIO then will not take 127.0.0.1 for its own
  # address by itself (it waits for "a valid IP"): name the node's own host:port for it.
  keep="MINIO_ROOT_USER MINIO_ROOT_PASSWORD" launch_bare "minio$n" "$port" MINIO_BROWSER=off MINIO_UPDATE=off MINIO_CI_CD=on _MINIO_SERVER_LOCAL="127.0.0.1:$port" \
    "$root/.tools/bin/minio" server --quiet --certs-dir "$dir/minio/certs" --address "127.0.0.1:$port" \
    --console-address "127.0.0.1:$((port + 100))" $(minio_endpoints) || true
}
store_start() {
  [ -x "$root/.tools/bin/minio" ] || { echo "no MinIO binary: run 'make minio'" >&2; exit 1; }
  command -v haproxy >/dev/null || { echo "no haproxy: run 'make cluster-install' (Debian's haproxy)" >&2; exit 1; }
  : "${MINIO_ROOT_USER:?MINIO_ROOT_USER is not set: run via make (it loads .state/secrets.env)}"
  local tls n; tls=$(dirname "$LAKEHOUSE_TLS_CA")
  "$py" "$root/infra/gen_tls.py" "$tls"
  mkdir -p "$dir/minio/certs/CAs" "$dir/haproxy"
  (umask 077 && cp "$tls/server.key" "$dir/minio/certs/private.key")
  cp "$tls/server.crt" "$dir/minio/certs/public.crt"
  cp "$LAKEHOUSE_TLS_CA" "$dir/minio/certs/CAs/ca.crt"
  for n in $(seq 1 "$CLUSTER_MINIO_NODES"); do minio_start_node "$n"; done
  {
    echo "global"; echo "  maxconn 4096"
    echo "defaults"; echo "  mode tcp"; echo "  timeout connect 3s"; echo "  timeout client 10m"; echo "  timeout server 10m"
    echo "  retries 2"; echo "  option redispatch"
    echo "frontend s3"; echo "  bind 127.0.0.1:$CLUSTER_S3_PORT"; echo "  default_backend minio"
    echo "backend minio"; echo "  balance leastconn"
    echo "  option httpchk"; echo "  http-check send meth GET uri /minio/health/live"
    for n in $(seq 1 "$CLUSTER_MINIO_NODES"); do
      echo "  server node$n 127.0.0.1:$(minio_port "$n") check check-ssl verify required ca-file $LAKEHOUSE_TLS_CA inter 1s fall 2 rise 2"
    done
  } >"$dir/haproxy/haproxy.cfg"
  launch_bare haproxy "$CLUSTER_S3_PORT" haproxy -db -f "$dir/haproxy/haproxy.cfg" || true
  wait_for haproxy 120 curl -sf --cacert "$LAKEHOUSE_TLS_CA" "$LAKEHOUSE_S3_ENDPOINT/minio/health/cluster"
  echo "  store up at $LAKEHOUSE_S3_ENDPOINT: $CLUSTER_MINIO_NODES MinIO nodes × $CLUSTER_MINIO_DRIVES drives behind haproxy"
  "$py" "$root/infra/store/bootstrap.py"
}
store_stop() {
  local n
  stop_one haproxy
  for n in $(seq 1 "$CLUSTER_MINIO_NODES"); do stop_one "minio$n"; done
}

# --- Spark standalone --------------------------------------------------------------------------------
spark_home() { "$py" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))'; }
spark_start() {
  local home w; home=$(spark_home)
  export SPARK_HOME=$home SPARK_LOG_DIR=$logs  # a worker's finished applications' folders go after a day (below)
  mkdir -p "$SPARK_CONF_DIR" "$dir/spark/events" "$dir/spark/work"
  # Read by every spark-submit (the jobs' drivers) that runs with SPARK_CONF_DIR set: the builder's
  # own settings (jobs/spark.py) still win; these only size the executors and keep the event log.
  cat >"$SPARK_CONF_DIR/spark-defaults.conf" <<EOF
spark.executor.memory          $CLUSTER_EXECUTOR_MEMORY
spark.executor.cores           $CLUSTER_EXECUTOR_CORES
spark.cores.max                $CLUSTER_CORES_PER_APP
spark.driver.host              127.0.0.1
spark.driver.bindAddress       127.0.0.1
spark.eventLog.enabled         true
spark.eventLog.dir             file://$dir/spark/events
spark.eventLog.compress        true
EOF
  launch_bare spark-master "$CLUSTER_SPARK_PORT" "$home/bin/spark-class" org.apache.spark.deploy.master.Master \
    --host 127.0.0.1 --port "$CLUSTER_SPARK_PORT" --webui-port "$CLUSTER_SPARK_UI_PORT" || true
  wait_for spark-master 60 curl -sf "http://127.0.0.1:$CLUSTER_SPARK_UI_PORT/json/"
  for w in $(seq 1 "$CLUSTER_SPARK_WORKERS"); do spark_start_worker "$w"; done
  SPARK_HISTORY_OPTS="-Dspark.history.fs.logDirectory=file://$dir/spark/events -Dspark.history.ui.port=$CLUSTER_SPARK_HISTORY_PORT" \
    launch_bare spark-history "$CLUSTER_SPARK_HISTORY_PORT" "$home/bin/spark-class" org.apache.spark.deploy.history.HistoryServer || true
  wait_for spark-master 60 spark_workers_alive "$CLUSTER_SPARK_WORKERS"
  echo "  spark master spark://127.0.0.1:$CLUSTER_SPARK_PORT with $CLUSTER_SPARK_WORKERS workers (UI http://127.0.0.1:$CLUSTER_SPARK_UI_PORT, history http://127.0.0.1:$CLUSTER_SPARK_HISTORY_PORT)"
}
spark_start_worker() {  # w
  local home; home=$(spark_home)
  SPARK_HOME=$home SPARK_LOG_DIR=$logs SPARK_WORKER_DIR=$dir/spark/work \
  SPARK_WORKER_OPTS="-Dspark.worker.cleanup.enabled=true -Dspark.worker.cleanup.appDataTtl=86400" \
    launch_bare "spark-worker$1" "$((CLUSTER_SPARK_UI_PORT + $1))" "$home/bin/spark-class" org.apache.spark.deploy.worker.Worker \
    --host 127.0.0.1 --cores "$CLUSTER_WORKER_CORES" --memory "$CLUSTER_WORKER_MEMORY" \
    --webui-port "$((CLUSTER_SPARK_UI_PORT + $1))" --work-dir "$dir/spark/work/worker$1" \
    "spark://127.0.0.1:$CLUSTER_SPARK_PORT" || true
}
spark_workers_alive() {  # n: the master counts at least n ALIVE workers
  local alive_count
  alive_count=$(curl -sf "http://127.0.0.1:$CLUSTER_SPARK_UI_PORT/json/" | "$py" -c 'import json,sys; print(sum(w["state"] == "ALIVE" for w in json.load(sys.stdin)["workers"]))')
  [ "$alive_count" -ge "$1" ]
}
shared_driver_start() {  # the long-lived driver the tasks attach to (LAKEHOUSE_SPARK_DRIVER_FILE; none if empty)
  [ -n "$LAKEHOUSE_SPARK_DRIVER_FILE" ] || return 0
  mkdir -p "$(dirname "$LAKEHOUSE_SPARK_DRIVER_FILE")"
  alive spark-driver || rm -f "$LAKEHOUSE_SPARK_DRIVER_FILE"  # a killed driver's file names a dead port
  LAKEHOUSE_SPARK_DRIVER_MEMORY=$CLUSTER_SHARED_DRIVER_MEMORY \
    launch spark-driver - "$py" -m jobs.cli spark-driver || true
  wait_for spark-driver 180 test -s "$LAKEHOUSE_SPARK_DRIVER_FILE"
  echo "  shared Spark driver up (tasks attach through $LAKEHOUSE_SPARK_DRIVER_FILE)"
}
spark_stop() {
  local w
  stop_one spark-driver
  stop_one spark-history
  for w in $(seq 1 "$CLUSTER_SPARK_WORKERS"); do stop_one "spark-worker$w"; done
  stop_one spark-master
}

# --- Airflow -----------------------------------------------------------------------------------------
airflow_start() {
  mkdir -p "$AIRFLOW_HOME"
  "$bin/airflow" db migrate >"$logs/airflow-db-migrate.log" 2>&1 || { tail -20 "$logs/airflow-db-migrate.log" >&2; exit 1; }
  "$bin/airflow" pools set lakehouse_spark "$CLUSTER_SPARK_POOL_SLOTS" "Spark applications at once on the standalone cluster" >/dev/null
  "$bin/airflow" pools set lakehouse_quality_writer 1 "Quality tables take one writer at a time (Delta on S3)" >/dev/null
  launch airflow-api-server "$CLUSTER_API_PORT" "$bin/airflow" api-server || true
  launch airflow-scheduler - "$bin/airflow" scheduler || true
  launch airflow-dag-processor - "$bin/airflow" dag-processor || true
  launch airflow-triggerer - "$bin/airflow" triggerer || true
  wait_for airflow-api-server 180 airflow_healthy
  echo "  airflow up: API and UI http://127.0.0.1:$CLUSTER_API_PORT (LocalExecutor × $CLUSTER_PARALLELISM, metadata in PostgreSQL)"
}
airflow_healthy() {  # the API server answers and reports the scheduler, dag processor and triggerer healthy
  curl -sf "http://127.0.0.1:$CLUSTER_API_PORT/api/v2/monitor/health" | "$py" -c '
import json, sys
h = json.load(sys.stdin)
sys.exit(0 if all(h.get(k, {}).get("status") == "healthy" for k in ("metadatabase", "scheduler", "triggerer", "dag_processor")) else 1)'
}
airflow_stop() {
  local p
  for p in airflow-scheduler airflow-triggerer airflow-dag-processor airflow-api-server; do stop_one "$p"; done
}

# --- A run through the scheduler ---------------------------------------------------------------------
SILVER_DAGS=(reference environment_iot agriculture transport)
GOLD_DAGS=(environment_gold agriculture_gold transport_gold environment_opendata)
cluster_days() {  # the CLUSTER_DAYS Vietnamese days that end yesterday (the newest is the scheduled one)
  local today k; today=$(TZ=Asia/Ho_Chi_Minh date +%F)
  for k in $(seq "$CLUSTER_DAYS" -1 1); do date -d "$today - $k day" +%F; done
}
backfill() {  # dag first last: Airflow's own backfill for the days the schedule did not make
  "$bin/airflow" backfill create --dag-id "$1" --from-date "${2}T00:00:00+07:00" --to-date "${3}T00:00:00+07:00" \
    --max-active-runs 1 --reprocess-behavior none >>"$logs/backfill.log" 2>&1 || { tail -20 "$logs/backfill.log" >&2; exit 1; }
}
run() {
  local days started d dag
  mapfile -t days < <(cluster_days)
  started=$(date +%s)
  echo "cluster run: ${days[*]} (${CLUSTER_ROWS} rows per source per day, seed $SEED)"
  airflow_healthy || { echo "Airflow is not up: run 'make cluster-up' first" >&2; exit 1; }
  for d in "${days[@]}"; do
    "$root/infra/sources/sample.sh" "$d" "$CLUSTER_ROWS" "$SEED" >"$logs/sample-$d.log" 2>&1 || { tail -20 "$logs/sample-$d.log" >&2; exit 1; }
    "$root/infra/sources/sources.sh" publish "$d" >"$logs/publish-$d.log" 2>&1 || { tail -20 "$logs/publish-$d.log" >&2; exit 1; }
  done
  "$bin/airflow" dags reserialize >"$logs/reserialize.log" 2>&1 || { tail -20 "$logs/reserialize.log" >&2; exit 1; }
  # Reference data first (every sector conforms to it), as `make run` does; then the sectors. Unpausing
  # makes the scheduler run the newest day by the schedule; the earlier days come from a backfill.
  for dag in reference "${SILVER_DAGS[@]:1}"; do
    "$bin/airflow" dags unpause "$dag" >/dev/null
    [ "${#days[@]}" -gt 1 ] && backfill "$dag" "${days[0]}" "${days[-2]}"
    if [ "$dag" = reference ]; then
      "$py" "$here/runs.py" "${days[@]}" --silver reference --timeout "$CLUSTER_RUN_TIMEOUT" --started "$started" >"$logs/reference-wait.log" 2>&1 \
        || { cat "$logs/reference-wait.log" >&2; exit 1; }
      echo "  reference data in for every day ($(($(date +%s) - started)) s)"
      for g in "${GOLD_DAGS[@]}"; do "$bin/airflow" dags unpause "$g" >/dev/null; done
    fi
  done
  local IFS=,
  "$py" "$here/runs.py" "${days[@]}" --silver "${SILVER_DAGS[*]}" --gold "${GOLD_DAGS[*]}" \
    --timeout "$CLUSTER_RUN_TIMEOUT" --started "$started" --json "$dir/run-times.json"
  unset IFS
  mkdir -p "$dir/summary"
  for d in "${days[@]}"; do
    "$py" -m jobs.cli summary --date "$d" --json >"$dir/summary/$d.json"
    "$py" -m jobs.cli summary --date "$d"
  done
  echo "summaries as JSON in $dir/summary/ (compare with a local run: infra/cluster/compare.py)"
}

status() {
  local rc=0 p
  for p in $(ls "$pids" 2>/dev/null | sed 's/\.pid$//' | sort); do
    if alive "$p"; then echo "  $p: running (pid $(cat "$pids/$p.pid"))"; else echo "  $p: NOT running"; rc=1; fi
  done
  if [ -f "$dir/postgres/data/PG_VERSION" ] && as_pg "$pg_bin/pg_ctl" -D "$dir/postgres/data" status >/dev/null 2>&1; then
    echo "  postgres: running on 127.0.0.1:$CLUSTER_PG_PORT"; fi
  curl -sf --cacert "$LAKEHOUSE_TLS_CA" "$LAKEHOUSE_S3_ENDPOINT/minio/health/cluster" >/dev/null && echo "  store: write quorum at $LAKEHOUSE_S3_ENDPOINT" || echo "  store: no write quorum at $LAKEHOUSE_S3_ENDPOINT"
  airflow_healthy 2>/dev/null && echo "  airflow: healthy (http://127.0.0.1:$CLUSTER_API_PORT)" || echo "  airflow: not healthy"
  return $rc
}

case $cmd in
  up)
    secrets
    echo "cluster up (state in $dir):"
    pg_start; store_start
    # The store's root and the ministries' keys were for provisioning it: no other process gets them.
    unset MINIO_ROOT_USER MINIO_ROOT_PASSWORD $(compgen -v LAKEHOUSE_MINISTRY_ || true)
    spark_start; shared_driver_start
    LAKEHOUSE_STATE_DIR=$dir "$root/infra/sources/sources.sh" start | sed 's/^/  /'
    airflow_start ;;
  down)
    echo "cluster down:"
    airflow_stop; spark_stop
    "$root/infra/sources/sources.sh" stop | sed 's/^/  /' || true
    store_stop; pg_stop
    left=$(for p in "$CLUSTER_S3_PORT" $(seq $((CLUSTER_S3_PORT + 1)) $((CLUSTER_S3_PORT + CLUSTER_MINIO_NODES))) \
      "$CLUSTER_SPARK_PORT" "$CLUSTER_SPARK_UI_PORT" "$CLUSTER_SPARK_HISTORY_PORT" "$CLUSTER_PG_PORT" "$CLUSTER_API_PORT" \
      "$CLUSTER_HTTP_PORT" "$CLUSTER_FTP_PORT" "$CLUSTER_MQTT_PORT" "$CLUSTER_SMTP_PORT"; do listening "$p" && echo "$p"; done || true)
    if [ -n "$left" ]; then echo "still listening after down: $left" >&2; exit 1; fi
    procs=$(leftovers)
    if [ -n "$procs" ]; then echo "still running after down:" >&2; echo "$procs" | cut -c1-160 >&2; exit 1; fi
    echo "  no cluster process or port left" ;;
  status) secrets; echo "cluster (state in $dir):"; status ;;
  run) secrets; run ;;
  days) cluster_days ;;
  airflow) secrets; exec "$bin/airflow" "${@:2}" ;;
  exec) secrets; export LAKEHOUSE_CLUSTER_DIR CLUSTER_SPARK_UI_PORT; exec "${@:2}" ;;  # a command with the cluster's configuration  # the cluster's Airflow CLI: cluster.sh airflow dags list-runs …
  env) secrets; env | grep -E '^(LAKEHOUSE_|AIRFLOW|SPARK_|CLUSTER_)' | grep -vE 'KEY|SECRET|PASSWORD|TOKEN|SQL_ALCHEMY' | sort ;;
  crash) secrets; crash_one "${2:?usage: $0 crash COMPONENT}" ;;
  start|stop)
    secrets
    case ${2:?usage: $0 $cmd COMPONENT} in
      minio[0-9]*) if [ "$cmd" = start ]; then minio_start_node "${2#minio}"; else stop_one "$2"; fi ;;
      airflow-*) if [ "$cmd" = start ]; then launch "$2" - "$bin/airflow" "${2#airflow-}"; else stop_one "$2"; fi ;;
      spark-worker[0-9]*) if [ "$cmd" = start ]; then spark_start_worker "${2#spark-worker}"; else stop_one "$2"; fi ;;
      spark-driver) if [ "$cmd" = start ]; then shared_driver_start; else stop_one "$2"; fi ;;
      haproxy|spark-*) [ "$cmd" = stop ] && stop_one "$2" || { echo "start $2 with '$0 up'" >&2; exit 2; } ;;
      *) echo "unknown component $2" >&2; exit 2 ;;
    esac ;;
  *) echo "usage: $0 up|run|down|status|days|env|airflow ARGS…|exec COMMAND…|start|stop|crash COMPONENT" >&2; exit 2 ;;
esac
