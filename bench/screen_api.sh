#!/bin/sh
# Screening API latency (issue 6, node): a release node with OFAC SDN (sdn+alt+add) and the
# UN consolidated list loaded into its store through `caravan screen load`, one analyst
# token, and `POST /api/v1/screen/party` timed call by call over keep-alive HTTP from
# bench/screen_api.py, which also times the rapidfuzz peer on the same names in the same
# run. Usage: bench/screen_api.sh [requests]   (default 3000)
set -eu
cd "$(dirname "$0")/.."
N="${1:-3000}"
DATA=../shared/data/screening
DIR="$(pwd)/target/screen-api-bench"
PORT=18461
cargo build --release -p caravan
BIN="$(pwd)/target/release/caravan"
rm -rf "$DIR" && mkdir -p "$DIR/data"
cat > "$DIR/caravan.toml" <<TOML
[node]
name = "Screening bench"
country = "US"
data_dir = "$DIR/data"
[store]
url = "sqlite://$DIR/data/caravan.sqlite"
[http]
listen = "127.0.0.1:$PORT"
TOML
export CARAVAN_CONFIG="$DIR/caravan.toml"
/usr/bin/time -f "load OFAC: %e s wall, %M KB max RSS" "$BIN" screen load --list "$DATA/sdn.csv" --source ofac
/usr/bin/time -f "load UN: %e s wall, %M KB max RSS" "$BIN" screen load --list "$DATA/un_consolidated.xml" --source un
TOKEN="$("$BIN" account add --name bench --role analyst | sed -n 's/^token (shown once): //p')"
"$BIN" serve > "$DIR/serve.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
VENV=target/screen-venv
[ -x "$VENV/bin/python" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q rapidfuzz; }
"$VENV/bin/python" bench/screen_api.py --port "$PORT" --token "$TOKEN" --requests "$N" --data "$DATA"
