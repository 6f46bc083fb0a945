#!/usr/bin/env bash
# Installs what building and testing the hub needs on Debian 12: the system's OpenSSL and zlib
# headers, the openssl CLI (test certificates), headless Chromium and its WebDriver (the dashboard
# and demo tests), Node (an independent HTTP client), testssl.sh (an independent TLS scanner),
# e2fsprogs' chattr (the immutable-log test), and a Python venv with the independent test clients.
# Idempotent: does nothing that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in libssl-dev zlib1g-dev openssl pkg-config python3-venv chromium chromium-driver testssl.sh e2fsprogs; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
# Any Node will do (some machines have it from elsewhere); Debian's otherwise.
command -v node >/dev/null 2>&1 || need+=(nodejs)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    echo "installing: ${need[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ "${1:-}" = "--with-python" ]; then
    if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
    .venv/bin/pip install -q --disable-pip-version-check -r tests/integration/requirements.txt
fi
