"""Cold start of a Lambda function binary, measured locally: the time from starting the process
to its first answer, through a stand-in of the Lambda Runtime API that serves one event.

Usage: python3 infra/bench/cold_start.py EVENT.json RUNS BINARY [BINARY ...]

Each run starts the binary afresh (as Lambda does for a cold start) with a minimal environment,
and the rows of the binaries are interleaved so a busy moment of the machine falls on all of them.
Prints the load average, then per binary its size and the median, p10 and p90 of the runs.
"""

import http.server
import json
import os
import statistics
import subprocess
import sys
import threading
import time


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    event = b"{}"
    answered = None

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.endswith("/invocation/next"):
            self.send_response(200)
            self.send_header("Lambda-Runtime-Aws-Request-Id", "cold-start-1")
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000))
            self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:bench")
            self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(self.event)))
            self.end_headers()
            self.wfile.write(self.event)
        else:
            self.send_response(404)
            self.end_headers()

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        type(self).answered = (time.perf_counter(), self.path, body)
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


def one_run(binary, port):
    RuntimeApi.answered = None
    env = {
        "PATH": os.environ["PATH"],
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:9",
        "LATCHKEY_TABLE": "bench",
        "RUST_LOG": "warn",
    }
    start = time.perf_counter()
    process = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while RuntimeApi.answered is None:
        if process.poll() is not None:
            raise SystemExit(f"{binary} exited with {process.returncode} before answering")
        if time.perf_counter() - start > 30:
            process.kill()
            raise SystemExit(f"{binary} did not answer within 30 s")
        time.sleep(0.0005)
    at, path, body = RuntimeApi.answered
    process.kill()
    process.wait()
    if not path.endswith("/response"):
        raise SystemExit(f"{binary} answered {path}: {body[:200]!r}")
    return (at - start) * 1000


def main():
    event_file, runs, binaries = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    RuntimeApi.event = json.dumps(json.load(open(event_file))).encode()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    times = {b: [] for b in binaries}
    for _ in range(runs):
        for binary in binaries:
            times[binary].append(one_run(binary, port))
    for binary in binaries:
        t = sorted(times[binary])
        q = statistics.quantiles(t, n=10)
        print(f"{binary}: {os.path.getsize(binary):,} bytes; first answer median {statistics.median(t):.1f} ms, p10 {q[0]:.1f}, p90 {q[-1]:.1f} ({runs} runs)")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
