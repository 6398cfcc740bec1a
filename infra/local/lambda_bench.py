"""Release binaries as Lambda runs them: binary size, cold start and peak memory of each function.

    python infra/local/lambda_bench.py <release dir> <stack state dir> <api url> [invocations]

`infra/local/bench` runs it with a local stack up. Each binary runs against a stand-in Lambda
Runtime API (this script) with the stack's function environment, so it reaches DynamoDB Local and
the SQS emulator the way it reaches DynamoDB and SQS in AWS:

- binary: the stripped release binary, and the zip Lambda is given (`bootstrap`, deflated);
- init: from process start to its first `GET /next`, the init phase Lambda bills (tracing,
  config, AWS clients, router); median and max of 5 starts;
- first reply: from process start to the answer to its first event (init plus one real call);
- peak RSS: the process's peak resident memory (VmHWM) after `invocations` events in a row.

The events do real work for a fresh owner (a session token and an API key made through the stack):
listing keys, the dashboard, an erasure dry run, the authorizer on a real key (argon2 on the first
call, the cache after), the worker on a finished job, a sweep. Every answer is checked, so a
function that fails is an error here, not a fast figure.
"""

import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
import zipfile
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from invoke_all import load  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
STARTS = 5


class RuntimeApi:
    """Hands out a fixed list of events, one per `GET /next`, and notes when things happen."""

    def __init__(self, events):
        self.events = list(events)
        self.first_next = None
        self.replies = []
        self.errors = []
        self.done = threading.Event()
        self.lock = threading.Lock()

    def handler(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if not self.path.endswith("/runtime/invocation/next"):
                    self.send_error(404)
                    return
                with api.lock:
                    if api.first_next is None:
                        api.first_next = time.monotonic()
                    event = api.events.pop(0) if api.events else None
                if event is None:
                    api.done.set()
                    time.sleep(3600)  # parks the runtime until the process is stopped
                    return
                body = json.dumps(event).encode()
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", str(uuid.uuid4()))
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60_000))
                self.send_header(
                    "Lambda-Runtime-Invoked-Function-Arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:bench",
                )
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                payload = self.rfile.read(length)
                with api.lock:
                    if self.path.endswith("/response"):
                        api.replies.append((time.monotonic(), payload))
                    else:
                        api.errors.append(payload.decode(errors="replace")[:300])
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler


def stack_environment(state: Path) -> dict:
    env = {}
    for name in ("functions.env", "queues.env"):
        for line in (state / name).read_text().splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                key, value = line.split("=", 1)
                env[key.strip()] = value.strip().strip("'")
    return env


def run(binary: Path, function: str, events: list, base_env: dict) -> dict:
    api = RuntimeApi(events)
    server = ThreadingHTTPServer(("127.0.0.1", 0), api.handler())
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        **os.environ,
        **base_env,
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "RUST_LOG": "warn",
    }
    started = time.monotonic()
    process = subprocess.Popen([str(binary)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    finished = api.done.wait(timeout=300)
    peak_kib = None
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak_kib = int(line.split()[1])
    process.kill()
    process.wait()
    server.shutdown()
    if not finished or api.errors or not api.replies:
        stderr = process.stderr.read().decode(errors="replace")[-500:]
        raise SystemExit(f"{function}: no clean run: errors={api.errors[:2]} stderr={stderr}")
    return {
        "init_ms": (api.first_next - started) * 1000,
        "first_reply_ms": (api.replies[0][0] - started) * 1000,
        "peak_mib": peak_kib / 1024,
        "replies": [json.loads(payload) for _, payload in api.replies],
    }


def http(api: str, method: str, path: str, token: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{api}{path}",
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    return json.load(urllib.request.urlopen(request, timeout=120))


def working_events(api: str) -> dict:
    """One event per function that does real work, with the check its reply must pass."""
    owner = f"bench-lambda-{uuid.uuid4().hex[:8]}"
    token = subprocess.run(
        [str(ROOT / "infra/local/dev-token"), "--sub", owner, "--email", f"{owner}@example.com",
         "--workspace", f"ws-{owner}", "--role", "owner", "--ttl", "3600"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    key = http(api, "POST", "/api/v1/account/api-keys", token, {"name": "bench", "permissions": ["orders:read"], "rate_limit_per_hour": 1000})
    job = http(api, "POST", "/api/v1/account/privacy/erasure", token, {"scope": "workspace", "dry_run": True})
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    ok = lambda reply: reply.get("statusCode", 0) < 300  # noqa: E731
    return {
        "api-keys": (load("api-keys-list.json", DEV_TOKEN=token), ok),
        "account": (load("account-dashboard.json", DEV_TOKEN=token), ok),
        "privacy": (load("privacy-erasure-dry-run.json", DEV_TOKEN=token), ok),
        "authorizer": (load("authorizer-x-api-key.json", DEV_KEY=key["api_key"]["api_key"]),
                       lambda reply: reply.get("isAuthorized") is True),
        "worker": (load("worker-erasure.json", JOB_ID=job["job_id"]),
                   lambda reply: reply.get("batchItemFailures") == []),
        "sweeper": (load("sweeper-scheduled.json", SWEEP_TIME=now), lambda reply: "queries" in reply),
    }


def zipped_mib(binary: Path) -> float:
    """The size of the deployment package: the binary as `bootstrap`, deflated."""
    archive = binary.parent / f"{binary.name}.bench.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as package:
        package.write(binary, "bootstrap")
    size = archive.stat().st_size / 2**20
    archive.unlink()
    return size


def main(release: Path, state: Path, api: str, invocations: int) -> None:
    base_env = stack_environment(state)
    print(f"{'function':<12} {'binary':>9} {'zipped':>9} {'init p50':>9} {'init max':>9} {'1st reply':>10} "
          f"{'peak RSS':>9}  ({STARTS} starts; peak after {invocations} events)")
    for function, (event, check) in working_events(api).items():
        binary = release / function
        size_mib = binary.stat().st_size / 2**20
        starts = [run(binary, function, [event], base_env) for _ in range(STARTS)]
        loaded = run(binary, function, [event] * invocations, base_env)
        replies = [r for s in starts for r in s["replies"]] + loaded["replies"]
        failed = [r for r in replies if not check(r)]
        if len(loaded["replies"]) != invocations or failed:
            raise SystemExit(f"{function}: {len(loaded['replies'])} of {invocations} answered; "
                             f"failed replies: {failed[:1]}")
        inits = [s["init_ms"] for s in starts]
        first = statistics.median(s["first_reply_ms"] for s in starts)
        print(f"{function:<12} {size_mib:>7.1f}Mi {zipped_mib(binary):>7.1f}Mi {statistics.median(inits):>7.1f}ms {max(inits):>7.1f}ms "
              f"{first:>8.1f}ms {loaded['peak_mib']:>7.1f}Mi")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 100)
