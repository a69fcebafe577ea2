#!/usr/bin/env bash
# Installs what SessionVault needs on Debian/Ubuntu when it is missing:
#   libsodium-dev (headers + pkg-config file for the CSodium system library),
#   libsqlite3-dev (libsqlite3.so for the run-time dlopen; SQLite is never linked),
#   pkg-config,
#   faketime (libfaketime: the PostgreSQL lease tests move a holder's wall clock, LeaseClockJumpTests).
# Uses sudo when not root. Does nothing when everything is present.
set -euo pipefail

packages=(libsodium-dev libsqlite3-dev pkg-config faketime)
missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: missing ${missing[*]}, and apt-get is not available; install them by hand" >&2
    exit 1
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo="sudo"
    else
        echo "install-deps: missing ${missing[*]}; run as root or install sudo" >&2
        exit 1
    fi
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
