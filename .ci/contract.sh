#!/usr/bin/env bash
# The OpenAPI contract check: the served /openapi.json must validate with
# openapi-spec-validator, and a bounded schemathesis run against a real
# server (fresh SQLite database, a seeded tenant, an all-scope key) must
# find no server error and no status code, content type or response schema
# that contradicts the document.
#
# Run alone: bash .ci/contract.sh
# Knobs (environment):
#   CONTRACT_MAX_EXAMPLES  test cases per operation and phase (default 25)
#   CONTRACT_MAX_TIME      time budget of the schemathesis run, in seconds
#                          (default 150; the fuzzing and stateful phases
#                          repeat until it is spent)
#   CONTRACT_SEED          schemathesis seed (default 20261122)
#   CONTRACT_VENV          the virtualenv (default target/ci-venv)
#   CONTRACT_SKIP_BUILD    set to 1 to use target/debug/invitd as it is
set -euo pipefail
cd "$(dirname "$0")/.."

max_examples="${CONTRACT_MAX_EXAMPLES:-25}"
max_time="${CONTRACT_MAX_TIME:-150}"
seed="${CONTRACT_SEED:-20261122}"
venv="${CONTRACT_VENV:-target/ci-venv}"

# --- Python tools, from PyPI into a virtualenv -------------------------------
missing=()
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v curl >/dev/null 2>&1 || missing+=(curl)
# Debian ships venv and ensurepip in a package of their own.
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ! -x "$venv/bin/schemathesis" ] || [ ! -x "$venv/bin/openapi-spec-validator" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  # The flags and config keys used here are those of schemathesis 4.32 and
  # openapi-spec-validator 0.9 (tested with 4.32.5 and 0.9.0).
  "$venv/bin/pip" install -q 'schemathesis>=4.32,<5' 'openapi-spec-validator>=0.9,<1'
fi
"$venv/bin/schemathesis" --version
"$venv/bin/openapi-spec-validator" --version

# --- The server, on a fresh database -----------------------------------------
if [ "${CONTRACT_SKIP_BUILD:-0}" != 1 ]; then
  cargo build -p invitd --bin invitd
fi
bin="$PWD/target/debug/invitd"

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
export INVITD_DATABASE_URL="sqlite://$work/invitd.db"
export INVITD_BIND="127.0.0.1:$port"
export INVITD_PUBLIC_URL="$base"
export INVITD_MAIL_URL="file://$work/mail"
export INVITD_LOG="${INVITD_LOG:-warn}"
# Webhooks to private addresses stay refused, as in production.
unset INVITD_WEBHOOK_ALLOW_PRIVATE_NETWORKS

"$bin" tenants create acme --name "Acme Inc" >/dev/null
key=$("$bin" keys create --name contract \
  --scopes invites:read,invites:write,tenants:admin,keys:admin | tail -n 1)

"$bin" serve >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.1
done
curl -fsS "$base/healthz" >/dev/null

# --- The document validates --------------------------------------------------
curl -fsS "$base/openapi.json" -o "$work/openapi.json"
validator=0
"$venv/bin/openapi-spec-validator" --validation-errors all "$work/openapi.json" || validator=$?

# --- A bounded fuzz run ------------------------------------------------------
started=$(date +%s)
status=0
config="$PWD/.ci/schemathesis.toml"
venv_abs=$(cd "$venv" && pwd)
# From the temporary folder: schemathesis keeps state in ./.schemathesis.
# One worker: with two, Python 3.11's parser, called from both threads by
# hypothesis, sometimes fails inside the tool ("AST constructor recursion
# depth mismatch"), an error of the fuzzer, not of the server.
(cd "$work" && "$venv_abs/bin/schemathesis" --config-file "$config" run "$base/openapi.json" \
  --header "Authorization: Bearer $key" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
  --max-examples "$max_examples" \
  --max-time "$max_time" \
  --seed "$seed" \
  --workers 1 \
  --request-timeout 10 \
  --generation-database none \
  --no-color) || status=$?
echo "contract: schemathesis finished in $(($(date +%s) - started)) s with exit status $status"
if [ "$status" != 0 ]; then
  echo "contract: server log tail:"
  tail -n 50 "$work/server.log"
fi
if [ "$validator" != 0 ]; then
  echo "contract: /openapi.json is not a valid OpenAPI document"
  exit "$validator"
fi
exit "$status"
