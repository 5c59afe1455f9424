# shellcheck shell=bash
# Run by lifeboat.dr.redis_replica as `bash -c "<this file>" PORT MODE MASTER_HOST MASTER_PORT
# CONFIRM [NAME VALUE]...`, with the password as the first line of stdin (never in argv; redis-cli
# reads it from REDISCLI_AUTH). Applies to the running Redis on 127.0.0.1:PORT, comparing CONFIG GET
# first: requirepass and masterauth (the password), each NAME VALUE, and with MODE replica
# `REPLICAOF MASTER_HOST MASTER_PORT`. Prints `changed NAME` for each change and `restart NAME` for a
# setting this Redis cannot change at runtime (bind before Redis 7). Refuses, before changing
# anything, to demote a master holding keys unless CONFIRM is true, and to run the primary entry
# point on a replica. Errors go to stderr, the exit status is non-zero.
set -euo pipefail

IFS= read -r REDISCLI_AUTH || true
export REDISCLI_AUTH
port=$0 mode=$1 master_host=$2 master_port=$3 confirm=$4
shift 4

cli() { redis-cli --no-auth-warning -h 127.0.0.1 -p "$port" "$@" 2>/dev/null; }
info() { cli INFO "$1" | tr -d '\r'; }
field() { sed -n "s/^$1://p"; }

if [ "$(cli PING || true)" != PONG ]; then
  reply=$(redis-cli --no-auth-warning -h 127.0.0.1 -p "$port" PING 2>&1 | tr '\n' ' ' || true)
  echo "Redis on 127.0.0.1:$port does not answer PING with redis_replica_password: ${reply:-no reply}" \
    "(a server running with another password must be given this one first, or restarted with the configuration file)" >&2
  exit 2
fi

replication=$(info replication)
role=$(field role <<<"$replication")
following=no
if [ "$role" = slave ] && [ "$(field master_host <<<"$replication")" = "$master_host" ] \
  && [ "$(field master_port <<<"$replication")" = "$master_port" ]; then
  following=yes
fi

if [ "$mode" = primary ] && [ "$role" = slave ]; then
  echo "Redis on 127.0.0.1:$port is a replica of $(field master_host <<<"$replication"):$(field master_port <<<"$replication");" \
    "the primary entry point does not promote replicas: run REPLICAOF NO ONE on it deliberately first" >&2
  exit 3
fi

if [ "$mode" = replica ] && [ "$following" = no ] && [ "$confirm" != true ]; then
  keyspace=$(info keyspace | grep '^db[0-9]*:keys=' | cut -d, -f1 | tr '\n' ' ' || true)
  if [ -n "$keyspace" ]; then
    echo "Redis on 127.0.0.1:$port holds keys (${keyspace% }) and is not a replica of $master_host:$master_port:" \
      "REPLICAOF replaces them with the master's data. Set redis_replica_confirm: true to go ahead. Nothing was changed." >&2
    exit 4
  fi
fi

set_config() {
  local current reply
  current=$(cli CONFIG GET "$1" | sed -n 2p)
  if [ "$current" = "$2" ]; then
    return 0
  fi
  reply=$(printf '%s' "$2" | cli -x CONFIG SET "$1" || true)
  case "$reply" in
    OK) echo "changed $1" ;;
    *immutable*) echo "restart $1" ;;
    *) echo "CONFIG SET $1 failed: ${reply:-no reply}" >&2; exit 5 ;;
  esac
}

set_config requirepass "$REDISCLI_AUTH"
set_config masterauth "$REDISCLI_AUTH"
while [ $# -ge 2 ]; do
  set_config "$1" "$2"
  shift 2
done

if [ "$mode" = replica ] && [ "$following" = no ]; then
  reply=$(cli REPLICAOF "$master_host" "$master_port" || true)
  case "$reply" in
    OK*) echo "changed replicaof" ;;
    *) echo "REPLICAOF $master_host $master_port failed: ${reply:-no reply}" >&2; exit 6 ;;
  esac
fi
