#!/usr/bin/env python3
"""Init time of Lambda bootstraps: process start to the first /invocation/next.

Each binary is started --runs times as Lambda starts a custom runtime: a fresh process with the
function's environment and AWS_LAMBDA_RUNTIME_API pointing at a Runtime API this script serves
on loopback. The moment the process asks for its first event it has finished its init (read
its settings, built its AWS clients); the script notes that time, the process's CPU time and
peak RSS so far, then stops it. Nothing is sent anywhere: the AWS settings are dummies and no
event is ever handed out.

    python3 scripts/init-time.py --bin lean=target/lambda/driftguard-ingest/bootstrap \\
        --bin base=/other/target/lambda/driftguard-ingest/bootstrap --runs 30

arm64 bootstraps run on an x86_64 machine under qemu-user (Debian's qemu-user and
libc6-arm64-cross): --wrapper "qemu-aarch64 -L /usr/aarch64-linux-gnu". Emulation makes every
figure many times larger than on Graviton; compare binaries run the same way, not the figures
with Lambda's. The binaries are started in turn (one of each, then the next round), so a
change in the machine's load falls on all of them alike.
"""
import argparse, http.server, os, shlex, statistics, subprocess, sys, threading, time

PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")

# The functions' settings as infra/template.yaml gives them, with dummy values: enough for every
# DriftGuard function but remediate (which asks STS who it is during init) to pass its init; each
# reads only its own.
FUNCTION_ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "driftguard-init-time",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/driftguard-init-time",
    "AWS_LAMBDA_LOG_STREAM_NAME": "2026/12/01/[$LATEST]init-time",
    "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
    "AWS_LAMBDA_LOG_FORMAT": "JSON",
    "AWS_REGION": "eu-west-1",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    "DRIFTGUARD_TABLE": "driftguard-findings",
    "DRIFTGUARD_EVENT_BUS": "driftguard",
    "DRIFTGUARD_STATE_LOCATIONS": "s3://acme-tfstate/env/prod/",
    "DRIFTGUARD_IAC_PRINCIPALS": "[]",
    "DRIFTGUARD_IGNORE_RULES": "",
    "DRIFTGUARD_SLACK_WEBHOOK_URL": "http://127.0.0.1:9/webhook",
    "DRIFTGUARD_SLACK_SIGNING_SECRET": "init-time-signing-secret",
    "DRIFTGUARD_SLACK_ALLOW": '{"acknowledge":{"users":["*"]},"not_drift":{"users":["*"]}}',
    "DRIFTGUARD_SLACK_RESPONSE_URL_PREFIX": "https://hooks.slack.com/",
    "DRIFTGUARD_SLACK_TEAM_ID": "T0INITTIME",
    "DRIFTGUARD_SLACK_APP_ID": "A0INITTIME",
    "DRIFTGUARD_SECURITYHUB_PRODUCT_ARN": "arn:aws:securityhub:eu-west-1:123456789012:product/123456789012/default",
}


class RuntimeApi(http.server.ThreadingHTTPServer):
    """Notes when the function first asks for an event; never hands one out."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.asked = threading.Event()
        self.asked_at = None
        self.init_error = None

    @property
    def address(self):
        return f"127.0.0.1:{self.server_address[1]}"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.endswith("/runtime/invocation/next") and not self.server.asked.is_set():
            self.server.asked_at = time.perf_counter()
            self.server.asked.set()
        # Hold the request: the process is stopped before an event would be due.
        time.sleep(30)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode(errors="replace")
        if self.path.endswith("/init/error"):
            self.server.init_error = body
            self.server.asked.set()
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args):
        pass


def cpu_and_peak(pid):
    """CPU seconds (user + system) and peak RSS (VmHWM, bytes) of a live process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICK
    peak = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) * 1024
    return cpu, peak


def one_start(command, timeout):
    api = RuntimeApi()
    threading.Thread(target=api.serve_forever, daemon=True).start()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **FUNCTION_ENV, "AWS_LAMBDA_RUNTIME_API": api.address}
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = started + timeout
        while not api.asked.wait(0.005):
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace").strip()[-2000:]
                raise SystemExit(f"init-time: {command[-1]} exited ({proc.returncode}) before asking for an event: {err}")
            if time.perf_counter() > deadline:
                raise SystemExit(f"init-time: {command[-1]} did not ask for an event within {timeout} s")
        if api.init_error is not None:
            raise SystemExit(f"init-time: {command[-1]} failed its init: {api.init_error}")
        cpu, peak = cpu_and_peak(proc.pid)
        return api.asked_at - started, cpu, peak
    finally:
        proc.kill()
        proc.wait()
        api.shutdown()
        api.server_close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", action="append", required=True, metavar="NAME=PATH", help="a bootstrap to time")
    parser.add_argument("--runs", type=int, default=20, help="fresh processes per binary (default 20)")
    parser.add_argument("--wrapper", default="", help="a command to run each binary under, e.g. qemu-aarch64")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the first /next")
    args = parser.parse_args()

    binaries = []
    for spec in args.bin:
        name, sep, path = spec.partition("=")
        if not sep or not os.path.isfile(path):
            parser.error(f"--bin {spec}: expected NAME=PATH to a file")
        binaries.append((name, path))
    wrapper = shlex.split(args.wrapper)
    results = {name: [] for name, _ in binaries}
    for _ in range(args.runs):
        for name, path in binaries:
            results[name].append(one_start(wrapper + [path], args.timeout))

    print(f"{args.runs} cold starts each{' under ' + args.wrapper if wrapper else ''}; medians")
    print(f"{'binary':<12} {'size':>12} {'start -> /next':>15} {'CPU':>9} {'peak RSS':>10}")
    for name, path in binaries:
        runs = results[name]
        wall = statistics.median(r[0] for r in runs) * 1000
        cpu = statistics.median(r[1] for r in runs) * 1000
        peak = statistics.median(r[2] for r in runs) / 2**20
        print(f"{name:<12} {os.path.getsize(path):>12,} {wall:>12.1f} ms {cpu:>6.0f} ms {peak:>7.1f} MiB")


if __name__ == "__main__":
    sys.exit(main())
