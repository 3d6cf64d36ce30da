#!/usr/bin/env bash
# Runs Schemathesis (from PyPI) against a real node's JSON API, described at
# /api/v1/openapi.json: no generated input, valid or not, may get a server error (5xx).
#
# The node is a fresh SQLite node with a generated corridor ingested, so list and detail
# endpoints have data to serve, and one token per role is tried: a role refused an
# operation must be refused cleanly (401/403), never with a 5xx.
#
# Settings (environment): CARAVAN_ST_PORT (8499), CARAVAN_ST_EXAMPLES (25 per operation).
#
# One worker: with two, Hypothesis (under CPython 3.11) parsed lambda sources from two threads
# at once and crashed inside `ast` ("AST constructor recursion depth mismatch"), a tool error
# that failed the step without any server error.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${CARAVAN_ST_PORT:-8499}"
EXAMPLES="${CARAVAN_ST_EXAMPLES:-25}"
VENV=target/ci-venv
if [ ! -x "$VENV/bin/schemathesis" ]; then
    if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
        rm -rf "$VENV"
        apt-get update -q >/dev/null
        apt-get install -y -q python3-venv >/dev/null
        python3 -m venv "$VENV"
    fi
    "$VENV/bin/pip" install -q 'schemathesis>=4.3,<5'
fi
cargo build --locked -q -p caravan
BIN="$PWD/target/debug/caravan"
WORK="$(mktemp -d)"
export CARAVAN__NODE__DATA_DIR="$WORK/node"
export CARAVAN__STORE__URL="sqlite://$WORK/node/caravan.sqlite"
export CARAVAN__HTTP__LISTEN="127.0.0.1:$PORT"
mkdir -p "$WORK/node"
"$BIN" generate --out "$WORK/corridor" --shipments 120 >/dev/null
"$BIN" ingest "$WORK/corridor/us/declarations.csv" >/dev/null
tokens=()
for role in desk_officer analyst supervisor auditor_dpo; do
    token=$("$BIN" account add --name "st-$role" --role "$role" | sed -n 's/^token (shown once): //p')
    tokens+=("$role:$token")
done
"$BIN" serve >"$WORK/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
        "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
    sleep 0.2
done
status=0
for entry in "${tokens[@]}"; do
    role="${entry%%:*}"
    token="${entry#*:}"
    echo "--- schemathesis as $role"
    "$VENV/bin/schemathesis" run "http://127.0.0.1:$PORT/api/v1/openapi.json" \
        --checks not_a_server_error \
        -H "Authorization: Bearer $token" \
        --max-examples "$EXAMPLES" --seed 20261202 --workers 1 \
        --phases examples,coverage,fuzzing --no-color || status=1
done
if [ $status -ne 0 ]; then
    echo "schemathesis found server errors; node log:"
    tail -n 50 "$WORK/serve.log"
fi
exit $status
