# shellcheck shell=bash
# kafkajs 2.2 (Node.js), installed by npm into e2e/js/node_modules from the
# committed package-lock.json. The checks are in e2e/js/kafkajs_check.js:
# admin (create with a config, list, metadata, describe configs, delete),
# keyed produce with headers (acks=all with gzip, acks=1, acks=0), reading
# back through kafkajs's fetch path without a group and through its public
# group Consumer (then the group's committed offsets, list, describe and
# delete with the admin client), list offsets (earliest, latest, by time).
# Then kcat checks what kafkajs wrote.
# shellcheck source=SCRIPTDIR/../lib/clients.bash
source "$(dirname "${BASH_SOURCE[0]}")/../lib/clients.bash"

kafkajs_install() {
	local js="$E2E_DIR/js" o="$WORK/npm.out"
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
		clients_apt_install kafkajs nodejs npm || return 1
	fi
	# npm only when node_modules lacks the locked version (no network then).
	if ! (cd "$js" && node -e '
		const want = require("./package-lock.json").packages["node_modules/kafkajs"].version
		process.exit(require("kafkajs/package.json").version === want ? 0 : 1)' 2>/dev/null); then
		say "e2e: installing kafkajs with npm into e2e/js/node_modules"
		if ! (cd "$js" && timeout 300 npm install --no-audit --no-fund) >"$o" 2>&1; then
			fail "kafkajs: npm install in e2e/js" "$(tail -n 5 "$o")"
			return 1
		fi
	fi
	say "e2e: using kafkajs $(cd "$js" && node -p 'require("kafkajs/package.json").version') on node $(node --version)"
}

kafkajs_checks() {
	local js="$E2E_DIR/js" out="$WORK/kafkajs" topic=e2e-kafkajs-keyed mark
	kafkajs_install || return
	mark=$(clients_log_mark)
	clients_run kafkajs "$out.run" node "$js/kafkajs_check.js" run "$ADDR" "$topic" "$out"
	if [[ -s $out/produced.txt ]]; then
		clients_crosscheck kafkajs "$topic" "$out/produced.txt"
		clients_batches kafkajs "$topic" "$(printf 'gzip plain\nnone plain')" \
			"on disk, the acks=all batches are gzip, the others uncompressed"
	fi
	clients_run kafkajs "$out.delete" node "$js/kafkajs_check.js" delete "$ADDR" "$topic"
	clients_log_clean kafkajs "$mark"
}

kafkajs_checks
