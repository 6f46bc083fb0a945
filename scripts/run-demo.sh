#!/usr/bin/env bash
# The whole demo on embedded defaults, in one command: the hub with its dev engine and outcome
# worker (port 8080), and the demo's REST server with its service workers (port 8081).
# Prints the page's URL; Ctrl-C stops both. HUB_PORT / DEMO_PORT override the ports.
set -euo pipefail
cd "$(dirname "$0")/.."
hub_port=${HUB_PORT:-8080}
demo_port=${DEMO_PORT:-8081}
# A busy port fails at once, before a long build, and says how to pick another.
for pair in "hub:$hub_port:HUB_PORT" "demo:$demo_port:DEMO_PORT"; do
    IFS=: read -r what port var <<<"$pair"
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "port $port (the $what) is already in use on 127.0.0.1: stop what listens there, or choose another, e.g. $var=$((port + 100)) scripts/run-demo.sh" >&2
        exit 1
    fi
done
scripts/install-deps.sh
swift build -c release --product affinity-hub 2>&1 | tail -1
swift build -c release --product affinity-demo 2>&1 | tail -1
bin="$(swift build -c release --show-bin-path)"

# No load balancer polls a demo: no drain grace. (Children started with & in a script ignore
# SIGINT, so Ctrl-C reaches them through this trap, as SIGTERM.)
"$bin/affinity-hub" serve --port "$hub_port" --dev-engine --drain-grace 0 --log-level warning &
hub_pid=$!
trap 'kill "$hub_pid" ${demo_pid:-} 2>/dev/null || true; wait 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$hub_port") 2>/dev/null && break
    sleep 0.1
done
"$bin/affinity-demo" --hub "http://127.0.0.1:$hub_port" --port "$demo_port" &
demo_pid=$!
# The URL once, when the demo answers.
for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$demo_port") 2>/dev/null && break
    kill -0 "$demo_pid" 2>/dev/null || { echo "the demo stopped before it was ready" >&2; exit 1; }
    sleep 0.1
done
echo
echo "AffinityHub demo: open http://127.0.0.1:$demo_port/   (hub dashboard: http://127.0.0.1:$hub_port/, workflows: http://127.0.0.1:$hub_port/dev-engine)"
echo "  or: curl -X POST http://127.0.0.1:$demo_port/purchase -d '{\"item\":\"book\",\"quantity\":1}'"
wait "$demo_pid"
