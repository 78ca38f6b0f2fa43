#!/usr/bin/env bash
# compare.sh builds strata, the kfake runner and the comparison driver, then
# runs the comparison of bench/compare (Strata against franz-go's kfake, in
# memory and on disk) on this machine. Arguments go to the driver, e.g.
#
#   bash bench/compare.sh --quick              # smoke run, ~1 minute
#   bash bench/compare.sh -out runs.jsonl      # the full comparison
#   bash bench/compare.sh -only e2e,c100       # some workloads
#
# Not part of `go test ./...` or CI: bench/ is its own Go module.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin=$(mktemp -d "${TMPDIR:-/tmp}/strata-compare-bin.XXXXXX")
trap 'rm -rf "$bin"' EXIT
(cd "$root" && go build -o "$bin/strata" ./cmd/strata)
(cd "$here" && go build -o "$bin/kfake" ./kfake && go build -o "$bin/compare" ./compare)
args=()
for a in "$@"; do
	case "$a" in
	--quick) args+=(-quick) ;;
	*) args+=("$a") ;;
	esac
done
exec "$bin/compare" -strata "$bin/strata" -kfake "$bin/kfake" "${args[@]}"
