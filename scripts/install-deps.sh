#!/usr/bin/env bash
# Installs what building the hub needs on Debian 12 (the system's OpenSSL and zlib headers, the
# openssl CLI) and, with --with-python, what testing it needs: headless Chromium and its WebDriver
# (the dashboard and demo tests), Node (an independent HTTP client), testssl.sh (an independent TLS
# scanner), e2fsprogs' chattr (the immutable-log test), nginx (the proxy config under deploy/),
# redis-server (the Redis client's tests run against a real server), and a Python venv with the
# independent test clients. Says what it installs before asking for
# sudo. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

# Building needs the headers and pkg-config; the tests (--with-python) also need the browser,
# the independent clients and scanners. The demo needs only the build.
packages=(libssl-dev zlib1g-dev openssl pkg-config)
if [ "${1:-}" = "--with-python" ]; then
    packages+=(python3-venv chromium chromium-driver testssl.sh e2fsprogs nginx-light redis-server)
fi
need=()
for pkg in "${packages[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
# Any Node will do (some machines have it from elsewhere); Debian's otherwise. Tests only.
if [ "${1:-}" = "--with-python" ]; then command -v node >/dev/null 2>&1 || need+=(nodejs); fi
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        SUDO=""
    else
        SUDO="sudo"
        echo "These Debian packages are missing: ${need[*]}"
        echo "Installing them with sudo (you may be asked for your password; Ctrl-C to install them yourself)."
    fi
    echo "installing: ${need[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ "${1:-}" = "--with-python" ]; then
    if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
    .venv/bin/pip install -q --disable-pip-version-check -r tests/integration/requirements.txt
fi
