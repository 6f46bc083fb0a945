#!/bin/bash
# The allocation budget of the hot paths (Benchmarks/, ordo-one/benchmark with malloc counting).
#   scripts/allocation-budget.sh          check: fails if any hot path allocates more than its budget
#   scripts/allocation-budget.sh update   after an intended change: record the new counts
# Only allocation counts are kept and checked: they are deterministic. Times vary by machine and
# are printed by `swift package --package-path Benchmarks benchmark`, never checked.
set -euo pipefail
cd "$(dirname "$0")/../Benchmarks"
case "${1:-check}" in
update)
    swift package --allow-writing-to-package-directory benchmark thresholds update --target HotPaths --no-progress
    # Keep the deterministic counts only.
    for f in Thresholds/*.json; do
        python3 -c 'import json,sys; p=sys.argv[1]; d=json.load(open(p)); json.dump({k: v for k, v in d.items() if k == "mallocCountTotal"}, open(p, "w"), indent=2, sort_keys=True)' "$f"
    done
    cat Thresholds/*.json ;;
check)
    set +e
    swift package benchmark thresholds check --target HotPaths --no-progress --format markdown
    rc=$?
    set -e
    # 0: the same counts; 4: fewer allocations than the budget (record them with `update`).
    if [ "$rc" -eq 4 ]; then echo "allocation counts improved: run scripts/allocation-budget.sh update to lower the budget"; exit 0; fi
    exit "$rc" ;;
*) echo "usage: $0 [check|update]" >&2; exit 2 ;;
esac
