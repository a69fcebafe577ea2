#!/usr/bin/env bash
# Runs a command with a throw-away PostgreSQL cluster on loopback, then stops and removes it.
#
#   scripts/with-postgres.sh swift test --skip-build
#
# Installs the server from Debian's packages when it is missing (postgresql, via apt-get, with sudo
# when not root). The cluster lives in a temporary directory, listens on 127.0.0.1 on a free port,
# uses scram-sha-256 password authentication, and is owned by the 'postgres' user when run as root
# (initdb refuses to run as root). The command sees:
#   SESSION_VAULT_TEST_POSTGRES_URL            postgres://postgres@127.0.0.1:PORT/sessionvault
#   SESSION_VAULT_TEST_POSTGRES_PASSWORD_FILE  a file holding the password
#   SESSION_VAULT_TEST_POSTGRES_BIN            the server's bin directory (for pg_dump)
set -euo pipefail

find_bin() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then echo "$dir"; return 0; fi
    done
    return 1
}

bin=$(find_bin || true)
if [ -z "$bin" ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "with-postgres: installing postgresql" >&2
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    bin=$(find_bin)
fi

root=$(mktemp -d /tmp/sessionvault-pg-XXXXXX)
chmod 755 "$root"
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$root"
    as_owner=(runuser -u postgres --)
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
password=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$password" > "$root/password"
chmod 644 "$root/password"

cleanup() {
    status=$?
    # A failed run shows what the server refused (connection limits, crashes) before the log goes.
    if [ "$status" -ne 0 ] && [ -f "$root/log" ]; then
        echo "with-postgres: the command failed ($status); the server's last FATAL/PANIC lines:" >&2
        grep -E "FATAL|PANIC" "$root/log" | tail -n 5 >&2 || true
    fi
    "${as_owner[@]}" "$bin/pg_ctl" -D "$root/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$root"
}
trap cleanup EXIT

"${as_owner[@]}" "$bin/initdb" -D "$root/data" -U postgres -A scram-sha-256 --pwfile="$root/password" >/dev/null
"${as_owner[@]}" "$bin/pg_ctl" -D "$root/data" -l "$root/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $root -c fsync=on -c max_connections=400" start >/dev/null
PGPASSWORD="$password" "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE sessionvault" >/dev/null

export SESSION_VAULT_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/sessionvault"
export SESSION_VAULT_TEST_POSTGRES_PASSWORD_FILE="$root/password"
export SESSION_VAULT_TEST_POSTGRES_BIN="$bin"
echo "with-postgres: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
"$@"
