#!/usr/bin/env python3
"""DriftGuard's ingest function vs Cloud Custodian's Lambda handler, head to head on one event.

One run measures both on the same AuthorizeSecurityGroupIngress CloudTrail event (SSH opened to
0.0.0.0/0 on a Terraform-managed security group, events/cloudtrail/
ec2-authorize-security-group-ingress.console-sso.json), each function run as Lambda runs it:
a process started against a Runtime API on loopback (this script serves
/2018-06-01/runtime/invocation/next, /response, /error and /init/error), its AWS calls going to
one moto_server on loopback with dummy credentials.

- Cloud Custodian: c7n from PyPI (pinned below) in a virtualenv this script creates under
  --cache-dir. The policy (resource security-group, mode cloudtrail on
  AuthorizeSecurityGroupIngress, filter: ingress on port 22 from 0.0.0.0/0, action: tag) is
  checked against c7n's schema and packaged by c7n's own Lambda packaging (c7n.mu.PolicyLambda:
  the c7n package, config.json, custodian_policy.py), unpacked as the function's code directory,
  and run by AWS's Python runtime interface client: `python -m awslambdaric custodian_policy.run`
  (handler c7n.handler.dispatch_event). Like a deployed policy it records what it matched in its
  output bucket (execution option output_dir=s3://...) unless --custodian-output=local. The
  event arrives as EventBridge delivers it to the function c7n deploys (the event itself).
- DriftGuard: the release driftguard-ingest binary with the environment infra/template.yaml gives
  it (table, bus, state location s3://acme-tfstate/env/prod/ holding events/terraform/*.tfstate),
  the event wrapped in the SQS batch the template's rule -> queue -> function path delivers.

Both are started cold the same way (fresh process, the first event already waiting), both
call moto for everything they need, and moto's services are warmed before either runs. moto
cannot create a security group with a chosen id, so the script creates the group (with the
declared HTTPS rule and the event's SSH rule) and puts moto's id wherever the sample event and
network.tfstate say sg-0123456789abcdef0.

Figures, each side: cold start (process start -> first /invocation/next, and -> first response,
the CPU and peak RSS to that point; median of --cold-starts fresh processes answering one event
each), per-event latency (median and p99 over --invocations warm invocations of one more fresh
process, each a fresh copy of the event with new ids; its first event is not timed), the CPU per
warm event of the function and of moto serving its calls, peak RSS (VmHWM of the handler
process), AWS calls (requests moto logged), and Custodian / DriftGuard ratios.
Every event is checked: DriftGuard answers with no batch item failure, stores a finding naming
the group and that event id, and publishes Drift Detected; Custodian logs that it ran its tag
action on one resource for that request, and the group carries the tag. A side that did not do
its job fails the run: the figures would be meaningless.

    python3 scripts/vs-custodian.py --ingest-binary target/release/driftguard-ingest

Without --ingest-binary (or DRIFTGUARD_INGEST_BINARY) the script first builds it from the
workspace: `cargo build --release --locked -p driftguard-ingest` (honouring CARGO_TARGET_DIR;
a cold build takes long). Needs python3 with venv and pip, and PyPI for the first run.
"""
import argparse
import collections
import copy
import hashlib
import json
import math
import os
import platform
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

C7N_VERSION = "0.9.53"
RIC_VERSION = "4.2.2"
MOTO_VERSION = "5.2.5"

ROOT = Path(__file__).resolve().parent.parent
EVENT_FILE = ROOT / "events/cloudtrail/ec2-authorize-security-group-ingress.console-sso.json"
STATE_FILES = [ROOT / "events/terraform/network.tfstate", ROOT / "events/terraform/data.tfstate"]
SAMPLE_SG = "sg-0123456789abcdef0"
REGION = "eu-west-1"
ACCOUNT = "123456789012"

# DriftGuard's resources, named as the integration tests name them (tests/src/stack.rs).
TABLE = "driftguard"
BUS = "driftguard"
QUEUE = "driftguard-events"
STATE_BUCKET = "acme-tfstate"
STATE_PREFIX = "env/prod/"
# Custodian's output bucket (execution option output_dir).
OUTPUT_BUCKET = "custodian-output"

POLICY_NAME = "sg-ssh-open-to-world"
TAG_KEY = "custodian-open-ssh"
POLICY = {
    "name": POLICY_NAME,
    "resource": "security-group",
    "description": "Security groups that open SSH to the world",
    "mode": {
        "type": "cloudtrail",
        "role": f"arn:aws:iam::{ACCOUNT}:role/custodian-policy",
        "events": [{
            "source": "ec2.amazonaws.com",
            "event": "AuthorizeSecurityGroupIngress",
            "ids": "requestParameters.groupId",
        }],
    },
    "filters": [{"type": "ingress", "Ports": [22], "Cidr": {"value": "0.0.0.0/0"}}],
    "actions": [{"type": "tag", "key": TAG_KEY, "value": "detected"}],
}

STAGE_ENV = "DRIFTGUARD_VS_CUSTODIAN_STAGE"
C7N_PYTHON_ENV = "DRIFTGUARD_VS_CUSTODIAN_C7N_PYTHON"
MOTO_READY_SECONDS = 30
PIP_TIMEOUT_SECONDS = 900


class Failure(Exception):
    """A step that failed; the message says which and why."""


def die(message):
    print(f"vs-custodian: {message}", file=sys.stderr)
    sys.exit(1)


def log(message):
    print(f"vs-custodian: {message}", file=sys.stderr, flush=True)


# --- environments -----------------------------------------------------------------------------


def venv_python(path):
    return path / "bin" / "python"


def ensure_venv(path, requirements, what):
    """A virtualenv at `path` holding exactly `requirements` (re-made when the pins change)."""
    marker = path / ".driftguard-ready"
    wanted = "\n".join(requirements)
    if marker.is_file() and marker.read_text() == wanted and venv_python(path).exists():
        return venv_python(path)
    if path.exists():
        shutil.rmtree(path)
    log(f"creating a virtualenv for {what} in {path} ({', '.join(requirements)})")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, capture_output=True, text=True,
                       timeout=300)
    except subprocess.CalledProcessError as e:
        raise Failure(f"cannot create a virtualenv for {what} (`{sys.executable} -m venv`; on Debian install "
                      f"python3-venv): {(e.stderr or e.stdout).strip()[-800:]}")
    except subprocess.TimeoutExpired:
        raise Failure(f"creating a virtualenv for {what} took over 300 s")
    try:
        subprocess.run([str(venv_python(path)), "-m", "pip", "install", "--disable-pip-version-check", "--quiet",
                        "--timeout", "30", "--retries", "2", *requirements],
                       check=True, capture_output=True, text=True, timeout=PIP_TIMEOUT_SECONDS)
    except subprocess.CalledProcessError as e:
        shutil.rmtree(path, ignore_errors=True)
        raise Failure(f"cannot install {what} from PyPI ({' '.join(requirements)}):\n{pip_error(e.stderr or e.stdout)}")
    except subprocess.TimeoutExpired:
        shutil.rmtree(path, ignore_errors=True)
        raise Failure(f"installing {what} from PyPI took over {PIP_TIMEOUT_SECONDS} s (is PyPI reachable?)")
    marker.write_text(wanted)
    return venv_python(path)


def pip_error(output):
    """pip's ERROR lines (else its last lines), each cut to a readable length."""
    lines = [line for line in output.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")] or lines[-8:]
    return "\n".join(line if len(line) <= 300 else line[:297] + "..." for line in errors)


def ingest_binary(args):
    """The ingest binary: --ingest-binary / DRIFTGUARD_INGEST_BINARY, else a release build."""
    given = args.ingest_binary or os.environ.get("DRIFTGUARD_INGEST_BINARY")
    if given:
        path = Path(given)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise Failure(f"the ingest binary {path} does not exist or is not executable")
        return path.resolve()
    if shutil.which("cargo") is None:
        raise Failure("no --ingest-binary given and cargo is not installed to build it")
    command = ["cargo", "build", "--release", "--locked", "-p", "driftguard-ingest"]
    log(f"building the ingest function: {' '.join(command)} (a cold build takes long)")
    built = subprocess.run(command, cwd=ROOT)
    if built.returncode != 0:
        raise Failure(f"`{' '.join(command)}` failed with exit code {built.returncode}")
    target = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
    if not target.is_absolute():
        target = ROOT / target
    path = target / "release" / "driftguard-ingest"
    if not path.is_file():
        raise Failure(f"the build succeeded but {path} is not there")
    return path


def package_custodian(c7n_python, task_dir, output_dir):
    """Runs `_package` under the c7n virtualenv: validates the policy, builds c7n's Lambda archive
    and unpacks it into `task_dir`. Returns the archive's size in bytes."""
    done = subprocess.run([str(c7n_python), str(Path(__file__).resolve()), "_package", str(task_dir), output_dir],
                          input=json.dumps(POLICY), capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise Failure(f"c7n could not validate or package the policy:\n{(done.stderr or done.stdout).strip()[-2000:]}")
    return int(done.stdout.strip().splitlines()[-1])


def package_main(task_dir, output_dir):
    """`_package` (inside the c7n virtualenv): c7n's own schema check and Lambda packaging."""
    policy = json.loads(sys.stdin.read())
    from c7n import mu
    from c7n.config import Config
    from c7n.policy import PolicyCollection
    from c7n.resources import load_resources
    from c7n.schema import generate, validate

    data = {"policies": [policy]}
    load_resources(("aws." + policy["resource"],))
    errors = validate(data, generate(["aws." + policy["resource"]]))
    if errors:
        sys.exit(f"the policy fails c7n's schema: {errors}")
    # What `custodian run -s <output_dir>` gives the policy; mu keeps only s3:// output dirs.
    options = Config.empty(region=REGION, output_dir=output_dir, metrics_enabled=None, log_group=None, tracer=None)
    loaded = PolicyCollection.from_data(data, options).policies[0]
    archive = mu.PolicyLambda(loaded).get_archive()
    with zipfile.ZipFile(archive.path) as z:
        z.extractall(task_dir)
    print(archive.size)


# --- moto --------------------------------------------------------------------------------------


class Moto:
    """moto_server on a free loopback port; counts the requests it logs."""

    REQUEST = re.compile(r'"[A-Z]+ \S+ HTTP/1\.[01]" \d{3}')

    def __init__(self, moto_python):
        server = moto_python.parent / "moto_server"
        self.port = free_port()
        self.requests = 0
        self.tail = collections.deque(maxlen=40)
        self.lock = threading.Lock()
        try:
            self.process = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(self.port)],
                                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                            stderr=subprocess.STDOUT, text=True, errors="replace")
        except OSError as e:
            raise Failure(f"cannot start moto_server ({server}): {e}")
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + MOTO_READY_SECONDS
        while True:
            if self.process.poll() is not None:
                time.sleep(0.2)
                raise Failure(f"moto_server exited with {self.process.returncode} before serving:\n"
                              + "\n".join(self.tail))
            if http_get(self.port, "/moto-api/data.json"):
                break
            if time.monotonic() > deadline:
                self.stop()
                raise Failure(f"moto_server did not answer HTTP on 127.0.0.1:{self.port} within "
                              f"{MOTO_READY_SECONDS} s:\n" + "\n".join(self.tail))
            time.sleep(0.1)

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def _read(self):
        for line in self.process.stdout:
            with self.lock:
                self.tail.append(line.rstrip())
                if self.REQUEST.search(line):
                    self.requests += 1

    def count(self, settle=0.3):
        """Requests logged so far, once the log has caught up with the last answers."""
        time.sleep(settle)
        with self.lock:
            return self.requests

    def stop(self):
        stop_process(self.process)


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path):
    import http.client
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        c.request("GET", path)
        c.getresponse().read()
        c.close()
        return True
    except OSError:
        return False


def stop_process(process, grace=5):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the Lambda Runtime API --------------------------------------------------------------------


class RuntimeApi:
    """A Lambda Runtime API (2018-06-01) on loopback for one function process."""

    def __init__(self, function_name, deadline_seconds):
        self.function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}"
        self.deadline_seconds = deadline_seconds
        self.cond = threading.Condition()
        self.queue = collections.deque()
        self.results = {}
        self.init_error = None
        self.first_next = None
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def body(self):
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    data = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass  # trailers
                            return data
                        data += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def reply(self, status, payload, headers=()):
                raw = json.dumps(payload).encode() if not isinstance(payload, bytes) else payload
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self):
                if self.path != "/2018-06-01/runtime/invocation/next":
                    return self.reply(404, {"errorType": "NotFound", "errorMessage": self.path})
                with api.cond:
                    if api.first_next is None:
                        api.first_next = time.perf_counter()
                    while not api.queue:
                        api.cond.wait()
                    request_id, event = api.queue.popleft()
                deadline = int((time.time() + api.deadline_seconds) * 1000)
                trace = f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"
                self.reply(200, event, [("Lambda-Runtime-Aws-Request-Id", request_id),
                                        ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                                        ("Lambda-Runtime-Invoked-Function-Arn", api.function_arn),
                                        ("Lambda-Runtime-Trace-Id", trace)])

            def do_POST(self):
                body = self.body()
                now = time.perf_counter()
                parts = self.path.split("/")
                # /2018-06-01/runtime/invocation/{id}/response|error, /2018-06-01/runtime/init/error
                # Accepted before it is handed on: the process may be stopped right after.
                if self.path == "/2018-06-01/runtime/init/error":
                    self.reply(202, {"status": "OK"})
                    with api.cond:
                        api.init_error = body.decode(errors="replace")
                        api.cond.notify_all()
                elif len(parts) == 6 and parts[3] == "invocation" and parts[5] in ("response", "error"):
                    self.reply(202, {"status": "OK"})
                    with api.cond:
                        api.results[parts[4]] = (parts[5], body, now)
                        api.cond.notify_all()
                else:
                    self.reply(404, {"errorType": "NotFound", "errorMessage": self.path})

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                # A stopped function drops its connection (its next poll, or a late answer).
                if not isinstance(sys.exc_info()[1], ConnectionError):
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def address(self):
        return f"127.0.0.1:{self.server.server_address[1]}"

    def enqueue(self, event):
        """Queues an event; returns its request id and when it was queued."""
        request_id = str(uuid.uuid4())
        with self.cond:
            queued = time.perf_counter()
            self.queue.append((request_id, event))
            self.cond.notify_all()
        return request_id, queued

    def wait(self, request_id, timeout, process):
        """(kind, body, time) once the function answered; raises Failure on exit, init error or timeout."""
        until = time.monotonic() + timeout
        with self.cond:
            while request_id not in self.results:
                if self.init_error is not None:
                    raise Failure(f"the function reported an init error: {self.init_error}")
                if process.poll() is not None:
                    raise Failure(f"the function exited with {process.returncode} before answering")
                left = until - time.monotonic()
                if left <= 0:
                    raise Failure(f"the function did not answer within {timeout} s")
                self.cond.wait(min(left, 0.05))
            return self.results[request_id]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# --- the two functions -------------------------------------------------------------------------


def base_env(api, function_name, memory, handler, moto):
    """What Lambda gives every function, dummy credentials, and moto as the endpoint."""
    keep = {k: os.environ[k] for k in ("PATH", "LANG", "HOME") if k in os.environ}
    return {
        **keep,
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/20/[$LATEST]" + secrets.token_hex(16),
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": moto.endpoint,
        "_HANDLER": handler,
        "TZ": ":UTC",
    }


class Side:
    """One function: how to start it, what envelope it gets, how to check what it did."""

    name = ""

    def command(self):
        raise NotImplementedError

    def env(self, api, moto):
        raise NotImplementedError

    def cwd(self):
        return None

    def envelope(self, event):
        """The payload Lambda hands the function for one event."""
        return event

    def check_answer(self, kind, body):
        """None when the answer is what a successful invocation returns, else why not."""
        raise NotImplementedError


class DriftGuardSide(Side):
    name = "DriftGuard"
    function = "driftguard-ingest"

    def __init__(self, binary):
        self.binary = binary

    def command(self):
        return [str(self.binary)]

    def cwd(self):
        return str(self.binary.parent)

    def env(self, api, moto):
        # infra/template.yaml's IngestFunction environment, with its parameters' defaults; path-style
        # S3 addressing because the endpoint is moto on an IP address.
        env = base_env(api, self.function, 256, "bootstrap", moto)
        env.update({
            "LAMBDA_TASK_ROOT": str(self.binary.parent),
            "AWS_LAMBDA_LOG_FORMAT": "JSON",
            "DRIFTGUARD_TABLE": TABLE,
            "DRIFTGUARD_EVENT_BUS": BUS,
            "DRIFTGUARD_STATE_LOCATIONS": f"s3://{STATE_BUCKET}/{STATE_PREFIX}",
            "DRIFTGUARD_IAC_PRINCIPALS": "[]",
            "DRIFTGUARD_STATE_REFRESH_SECONDS": "30",
            "DRIFTGUARD_STATE_LIST_SECONDS": "900",
            "DRIFTGUARD_S3_PATH_STYLE": "true",
            "DRIFTGUARD_IGNORE_RULES": "",
            "DRIFTGUARD_ACCESS_FINDINGS": "true",
            "DRIFTGUARD_CFN_DRIFT_CHECKS": "20",
            "DRIFTGUARD_AWS_CONFIG_BUCKET": "",
            "DRIFTGUARD_CONFIG": "",
            "DRIFTGUARD_CONFIG_REFRESH_SECONDS": "60",
            "DRIFTGUARD_REMEDIATION_ROLES": f"arn:aws:iam::{ACCOUNT}:role/driftguard-remediate,"
                                            "arn:aws:iam::*:role/driftguard-remediation",
            "RUST_LOG": "info",
        })
        return env

    def envelope(self, event):
        # One EventBridge event as the queue's message, delivered in a batch of one.
        body = json.dumps(event, separators=(",", ":"))
        sent = int(time.time() * 1000)
        return {"Records": [{
            "messageId": str(uuid.uuid4()),
            "receiptHandle": "AQEB" + secrets.token_urlsafe(180),
            "body": body,
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": str(sent),
                "SenderId": "AIDAIE6VAXUQU2DKHA7DK",
                "ApproximateFirstReceiveTimestamp": str(sent + 4),
            },
            "messageAttributes": {},
            "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{QUEUE}",
            "awsRegion": REGION,
        }]}

    def check_answer(self, kind, body):
        if kind != "response":
            return f"it reported an error: {body[:500]!r}"
        try:
            answer = json.loads(body)
        except ValueError:
            return f"its answer is not JSON: {body[:200]!r}"
        if not isinstance(answer, dict) or answer.get("batchItemFailures") != []:
            return f"its batch response names failures: {answer}"
        return None


class CustodianSide(Side):
    name = "Custodian"
    function = f"custodian-{POLICY_NAME}"

    def __init__(self, python, task_dir):
        self.python = python
        self.task_dir = task_dir

    def command(self):
        return [str(self.python), "-m", "awslambdaric", "custodian_policy.run"]

    def cwd(self):
        return str(self.task_dir)

    def env(self, api, moto):
        # What c7n's mu provisions (python3.11, 512 MB, no environment of its own) and what the
        # Python runtime sets. The code directory is read-only on Lambda and c7n's archive holds
        # no bytecode, so nothing compiled is cached between cold starts here either.
        env = base_env(api, self.function, 512, "custodian_policy.run", moto)
        env.update({
            "LAMBDA_TASK_ROOT": str(self.task_dir),
            "PYTHONPATH": str(self.task_dir),
            "PYTHONDONTWRITEBYTECODE": "1",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        })
        return env

    def check_answer(self, kind, body):
        if kind != "response":
            return f"it reported an error: {body[:500]!r}"
        if body.strip() != b"true":
            return f"dispatch_event answered {body[:200]!r}, not true (no policy ran)"
        return None


def fresh_event(base, n):
    """A copy of the event as a new call: new EventBridge id, eventID and request ids, one second later."""
    event = copy.deepcopy(base)
    event["id"] = str(uuid.uuid4())
    detail = event["detail"]
    detail["eventID"] = str(uuid.uuid4())
    request = str(uuid.uuid4())
    detail["requestID"] = request
    if isinstance(detail.get("responseElements"), dict):
        detail["responseElements"]["requestId"] = request
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(parse_time(detail["eventTime"]) + n))
    detail["eventTime"] = stamp
    event["time"] = stamp
    return event


def parse_time(text):
    import calendar
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def cpu_ms(pid):
    """User + system CPU time a process used so far, in milliseconds (None once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def memory_kb(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def run_side(side, moto, base_event, args, workdir, counter):
    """--cold-starts fresh processes answering one event each, then one more fresh process that
    answers a first event (not timed) and --invocations warm ones. Returns the figures, the
    events sent (request id, event) and the function logs."""
    figures = {"cold_next_ms": [], "cold_first_ms": [], "cold_cpu_ms": [], "cold_rss_kb": [], "first_calls": [],
               "latency_ms": []}
    sent, logs = [], []
    for start in range(args.cold_starts + 1):
        warm = start == args.cold_starts
        api = RuntimeApi(side.function, args.timeout)
        log_path = workdir / f"{side.function}.{'warm' if warm else start}.log"
        logs.append(log_path)
        what = "the warm process's first event" if warm else f"cold start {start + 1}"
        event = fresh_event(base_event, counter())
        request_id, _ = api.enqueue(side.envelope(event))
        before = moto.count(settle=0)
        with open(log_path, "wb") as out:
            started = time.perf_counter()
            process = subprocess.Popen(side.command(), cwd=side.cwd(), env=side.env(api, moto),
                                       stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        try:
            answered = invoke(side, api, process, request_id, args.timeout, what, log_path)
            sent.append((request_id, event))
            if not warm:
                figures["cold_next_ms"].append((api.first_next - started) * 1000)
                figures["cold_first_ms"].append((answered - started) * 1000)
                # VmHWM (set anew at exec; rusage's maxrss would count this script's own RSS, which
                # the child had before its exec), then the CPU from the rusage of the reaped process:
                # every thread, exited ones too, in microseconds.
                figures["cold_rss_kb"].append(memory_kb(process.pid, "VmHWM"))
                figures["cold_cpu_ms"].append(reap(process))
                figures["first_calls"].append(moto.count() - before)
                continue
            before = moto.count()
            cpu_before, moto_cpu_before = cpu_ms(process.pid), cpu_ms(moto.process.pid)
            for n in range(1, args.invocations + 1):
                event = fresh_event(base_event, counter())
                request_id, queued = api.enqueue(side.envelope(event))
                answered = invoke(side, api, process, request_id, args.timeout, f"warm invocation {n}", log_path)
                figures["latency_ms"].append((answered - queued) * 1000)
                sent.append((request_id, event))
            # Ticks of 1/SC_CLK_TCK s, over all the warm invocations.
            figures["warm_cpu_ms"] = (cpu_ms(process.pid) - cpu_before) / args.invocations
            figures["warm_moto_cpu_ms"] = (cpu_ms(moto.process.pid) - moto_cpu_before) / args.invocations
            figures["warm_calls"] = (moto.count() - before) / args.invocations
            figures["peak_rss_kb"] = memory_kb(process.pid, "VmHWM")
        finally:
            stop_process(process)
            api.close()
    return figures, sent, logs


def invoke(side, api, process, request_id, timeout, what, log_path):
    """Waits for the answer to `request_id`; raises Failure when there is none or it is wrong."""
    try:
        kind, body, answered = api.wait(request_id, timeout, process)
    except Failure as e:
        raise Failure(f"{side.name}, {what}: {e}\n{tail(log_path)}")
    why = side.check_answer(kind, body)
    if why:
        raise Failure(f"{side.name}, {what}: {why}\n{tail(log_path)}")
    return answered


def reap(process):
    """Stops a function process (SIGTERM ends both runtimes at once) and returns the CPU it used,
    user + system over all its threads, in ms, from the kernel's rusage."""
    process.send_signal(signal.SIGTERM)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return (usage.ru_utime + usage.ru_stime) * 1000


def tail(path, lines=25):
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return f"--- last lines of {path} ---\n" + "\n".join(text[-lines:])


# --- moto's state ------------------------------------------------------------------------------


def seed(moto, custodian_output):
    """Warms moto's services, creates the group and both sides' resources. Returns the group's id."""
    import boto3
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name=REGION)
    client = lambda service: session.client(service, endpoint_url=moto.endpoint)  # noqa: E731
    ec2, s3, ddb, events, sqs, sts = (client(s) for s in ("ec2", "s3", "dynamodb", "events", "sqs", "sts"))
    # moto loads a service's backend on its first request: pay that here, for neither side.
    sts.get_caller_identity()
    s3.list_buckets()
    ddb.list_tables()
    events.list_event_buses()
    sqs.list_queues()

    # The group as it is after the call: the declared HTTPS rule and the SSH rule the call added.
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    group = ec2.create_security_group(
        GroupName="web", Description="Web tier: HTTPS from anywhere", VpcId=vpc,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": [{"Key": "Name", "Value": "web"}]}],
    )["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
         "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "HTTPS from anywhere"}]},
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
    ])

    # DriftGuard: the table (keys as DynamoStore::create_table), the bus with a rule to a queue (as
    # the tests' stack), the states bucket.
    keys = [("pk", "HASH"), ("sk", "RANGE")]
    ddb.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": a, "KeyType": k} for a, k in keys],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"}
                              for a in ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")],
        GlobalSecondaryIndexes=[{
            "IndexName": name,
            "KeySchema": [{"AttributeName": f"{name}pk", "KeyType": "HASH"},
                          {"AttributeName": f"{name}sk", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        } for name in ("gsi1", "gsi2")],
    )
    ddb.update_time_to_live(TableName=TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"})
    events.create_event_bus(Name=BUS)
    queue_url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="driftguard-to-queue", EventBusName=BUS, EventPattern='{"source":["driftguard"]}')
    events.put_targets(Rule="driftguard-to-queue", EventBusName=BUS, Targets=[{"Id": "queue", "Arn": queue_arn}])
    location = {"LocationConstraint": REGION}
    s3.create_bucket(Bucket=STATE_BUCKET, CreateBucketConfiguration=location)
    for path in STATE_FILES:
        s3.put_object(Bucket=STATE_BUCKET, Key=STATE_PREFIX + path.name,
                      Body=path.read_bytes().replace(SAMPLE_SG.encode(), group.encode()))
    # Custodian: its output bucket.
    if custodian_output:
        s3.create_bucket(Bucket=OUTPUT_BUCKET, CreateBucketConfiguration=location)
    return group, queue_url


def check_driftguard(moto, sent, group, queue_url):
    """Every event sent has its finding on the group in the table, and a Drift Detected was published."""
    import boto3
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name=REGION)
    ddb = session.client("dynamodb", endpoint_url=moto.endpoint)
    found = {}
    for page in ddb.get_paginator("scan").paginate(
            TableName=TABLE, FilterExpression="sk = :f", ExpressionAttributeValues={":f": {"S": "FINDING"}}):
        for item in page["Items"]:
            doc = json.loads(item["doc"]["S"])
            found[doc["call"]["event_id"]] = doc
    problems = []
    severities = collections.Counter()
    for _, event in sent:
        doc = found.get(event["detail"]["eventID"])
        if doc is None:
            problems.append(f"no finding for event {event['detail']['eventID']}")
        elif doc["resource"]["id"] != group:
            problems.append(f"the finding for {event['detail']['eventID']} names {doc['resource']['id']}")
        else:
            severities[doc["severity"]] += 1
    sqs = session.client("sqs", endpoint_url=moto.endpoint)
    detected = 0
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            break
        for m in got:
            detected += json.loads(m["Body"]).get("detail-type") == "Drift Detected"
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    summary = (f"{sum(severities.values())} of {len(sent)} events stored as a finding on {group} "
               f"({', '.join(f'{n} {s}' for s, n in severities.items())}); {detected} Drift Detected published")
    if detected < len(sent):
        problems.append(f"{detected} Drift Detected published for {len(sent)} events")
    return problems, summary


def check_custodian(moto, sent, logs, group, custodian_output):
    """Every request's log says the tag action ran on one resource; the group has the tag; the
    output bucket holds the matched resources."""
    import boto3
    text = "".join(path.read_text(errors="replace") for path in logs)
    acted = re.compile(r"^\[INFO\]\t\S+\t(\S+)\tpolicy:" + re.escape(POLICY_NAME)
                       + r" invoking action:tag resources:1$", re.M)
    matched = set(acted.findall(text))
    problems = [f"request {rid} (event {event['detail']['eventID']}): no 'invoking action:tag resources:1' in the log"
                for rid, event in sent if rid not in matched]
    summary = f"{len(sent) - len(problems)} of {len(sent)} invocations matched {group} and tagged it (log)"
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name=REGION)
    ec2 = session.client("ec2", endpoint_url=moto.endpoint)
    tags = {t["Key"]: t["Value"] for t in ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]
            .get("Tags", [])}
    if tags.get(TAG_KEY) != "detected":
        problems.append(f"{group} does not carry the tag {TAG_KEY}=detected: {tags}")
    if custodian_output:
        s3 = session.client("s3", endpoint_url=moto.endpoint)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=OUTPUT_BUCKET).get("Contents", [])]
        resources = [k for k in keys if k.endswith(("resources.json", "resources.json.gz"))]
        if not resources:
            problems.append(f"no resources.json in s3://{OUTPUT_BUCKET}/ (keys: {keys[:10]})")
        elif group not in read_object(s3, OUTPUT_BUCKET, resources[0]):
            problems.append(f"s3://{OUTPUT_BUCKET}/{resources[0]} does not name {group}")
        else:
            summary += f"; s3://{OUTPUT_BUCKET}/ holds {', '.join(sorted({k.rsplit('/', 1)[-1] for k in keys}))}"
    return problems, summary


def read_object(s3, bucket, key):
    """An object's text, gunzipped when c7n compressed it."""
    import gzip
    raw = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode(errors="replace")


# --- report ------------------------------------------------------------------------------------


def p99(values):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


def tenth(values, first):
    """The median of the first (or last) tenth of the warm invocations, at least one."""
    if not values:
        return None
    n = max(1, len(values) // 10)
    return statistics.median(values[:n] if first else values[-n:])


def summarise(figures):
    return {
        "cold_start_next_ms": statistics.median(figures["cold_next_ms"]),
        "cold_start_first_response_ms": statistics.median(figures["cold_first_ms"]),
        "cold_start_cpu_ms": statistics.median(figures["cold_cpu_ms"]),
        "latency_median_ms": statistics.median(figures["latency_ms"]) if figures["latency_ms"] else None,
        "latency_p99_ms": p99(figures["latency_ms"]) if figures["latency_ms"] else None,
        "latency_first_tenth_median_ms": tenth(figures["latency_ms"], first=True),
        "latency_last_tenth_median_ms": tenth(figures["latency_ms"], first=False),
        "cpu_per_warm_event_ms": figures.get("warm_cpu_ms"),
        "moto_cpu_per_warm_event_ms": figures.get("warm_moto_cpu_ms"),
        "cold_start_peak_rss_mb": statistics.median(figures["cold_rss_kb"]) / 1024,
        "peak_rss_mb": figures["peak_rss_kb"] / 1024,
        "aws_calls_first_invocation": statistics.median(figures["first_calls"]),
        "aws_calls_per_warm_event": figures.get("warm_calls"),
        "cold_start_next_ms_all": [round(v, 2) for v in figures["cold_next_ms"]],
        "cold_start_first_response_ms_all": [round(v, 2) for v in figures["cold_first_ms"]],
        "latency_ms_all": [round(v, 2) for v in figures["latency_ms"]],
    }


ROWS = [
    ("cold start: process start -> first /next", "cold_start_next_ms", "ms"),
    ("cold start: process start -> first response", "cold_start_first_response_ms", "ms"),
    ("cold start: CPU to first response", "cold_start_cpu_ms", "ms"),
    ("per event (warm), median", "latency_median_ms", "ms"),
    ("per event (warm), p99", "latency_p99_ms", "ms"),
    ("CPU per warm event: the function", "cpu_per_warm_event_ms", "ms"),
    ("CPU per warm event: moto serving its calls", "moto_cpu_per_warm_event_ms", "ms"),
    ("peak RSS (VmHWM) after the first response", "cold_start_peak_rss_mb", "MB"),
    ("peak RSS (VmHWM) after the warm invocations", "peak_rss_mb", "MB"),
    ("AWS calls, first invocation", "aws_calls_first_invocation", ""),
    ("AWS calls per warm event", "aws_calls_per_warm_event", ""),
]


def table(result):
    dg, cc = result["driftguard"], result["custodian"]
    out = [f"{'':46}{'DriftGuard':>12}{'Custodian':>12}{'Custodian/DriftGuard':>22}"]
    for label, key, unit in ROWS:
        a, b = dg[key], cc[key]
        fmt = (lambda v: f"{v:.1f} {unit}".strip()) if unit else (lambda v: f"{v:.1f}")
        ratio = f"{b / a:.1f}x" if a else "-"
        out.append(f"{label:46}{fmt(a):>12}{fmt(b):>12}{ratio:>22}")
    return "\n".join(out)


# --- main --------------------------------------------------------------------------------------


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "_package":
        return package_main(sys.argv[2], sys.argv[3])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ingest-binary", help="the release driftguard-ingest binary (default: "
                    "$DRIFTGUARD_INGEST_BINARY, else built with cargo build --release --locked -p driftguard-ingest)")
    ap.add_argument("--invocations", type=int, default=200, help="warm invocations per side (default 200)")
    ap.add_argument("--cold-starts", type=int, default=5, help="fresh processes per side, median reported (default 5)")
    ap.add_argument("--timeout", type=float, default=60, help="seconds one invocation may take (default 60)")
    ap.add_argument("--custodian-output", choices=("s3", "local"), default="s3",
                    help="Custodian's output_dir: its output bucket on moto (default) or the function's /tmp")
    ap.add_argument("--cache-dir", default=os.path.join(os.environ.get("XDG_CACHE_HOME") or
                                                        os.path.expanduser("~/.cache"), "driftguard", "vs-custodian"),
                    help="where the virtualenvs are kept (default ~/.cache/driftguard/vs-custodian)")
    ap.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH ('-' for stdout)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (function logs) after a good run")
    args = ap.parse_args()
    if args.invocations < 1 or args.cold_starts < 1:
        die("--invocations and --cold-starts must be at least 1")

    cache = Path(args.cache_dir)
    try:
        if os.environ.get(STAGE_ENV) != "run":
            # Set up both virtualenvs, then run the rest under moto's (it has boto3 for seeding).
            c7n_python = ensure_venv(cache / f"c7n-{C7N_VERSION}-awslambdaric-{RIC_VERSION}",
                                     [f"c7n=={C7N_VERSION}", f"awslambdaric=={RIC_VERSION}"],
                                     "Cloud Custodian and the Lambda runtime interface client")
            moto_python = ensure_venv(cache / f"moto-{MOTO_VERSION}", [f"moto[server]=={MOTO_VERSION}"], "moto")
            os.environ[STAGE_ENV] = "run"
            os.environ[C7N_PYTHON_ENV] = str(c7n_python)
            os.execv(str(moto_python), [str(moto_python), str(Path(__file__).resolve()), *sys.argv[1:]])
        return run(args, Path(os.environ[C7N_PYTHON_ENV]), Path(sys.executable))
    except Failure as e:
        die(str(e))


def run(args, c7n_python, moto_python):
    binary = ingest_binary(args)
    for path in [EVENT_FILE, *STATE_FILES]:
        if not path.is_file():
            raise Failure(f"{path} is missing (run the script from a DriftGuard checkout)")
    workdir = Path(tempfile.mkdtemp(prefix="driftguard-vs-custodian-"))
    task_dir = workdir / "custodian-task"
    output_dir = f"s3://{OUTPUT_BUCKET}/lambda?region={REGION}" if args.custodian_output == "s3" else "/tmp"
    try:
        archive_bytes = package_custodian(c7n_python, task_dir, output_dir)
    except Failure:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    load_start = os.getloadavg()[0]
    moto = Moto(moto_python)
    ok = False
    try:
        group, queue_url = seed(moto, args.custodian_output == "s3")
        base = json.loads(EVENT_FILE.read_text().replace(SAMPLE_SG, group))
        sequence = iter(range(1, 10**9))
        counter = lambda: next(sequence)  # noqa: E731
        sides = [DriftGuardSide(binary), CustodianSide(c7n_python, task_dir)]
        raw, checks, problems = {}, {}, []
        for side in sides:
            log(f"{side.name}: {args.cold_starts} cold starts, then {args.invocations} warm invocations")
            figures, sent, logs = run_side(side, moto, base, args, workdir, counter)
            raw[side.name] = figures
            if isinstance(side, DriftGuardSide):
                found, checks[side.name] = check_driftguard(moto, sent, group, queue_url)
            else:
                found, checks[side.name] = check_custodian(moto, sent, logs, group, args.custodian_output == "s3")
            problems += [f"{side.name}: {p}" for p in found]
        load_end = os.getloadavg()[0]
        result = {
            "event": str(EVENT_FILE.relative_to(ROOT)),
            "machine": {"cores": os.cpu_count(), "arch": platform.machine(), "python": platform.python_version(),
                        "load_average_1m": [round(load_start, 2), round(load_end, 2)]},
            "versions": {"c7n": C7N_VERSION, "awslambdaric": RIC_VERSION, "moto": MOTO_VERSION},
            "invocations": args.invocations,
            "cold_starts": args.cold_starts,
            "custodian_output": output_dir,
            "custodian_archive_bytes": archive_bytes,
            "ingest_binary": str(binary),
            "ingest_binary_bytes": binary.stat().st_size,
            "driftguard": summarise(raw["DriftGuard"]),
            "custodian": summarise(raw["Custodian"]),
            "checks": checks,
            "problems": problems,
        }
        print_report(result)
        if args.json:
            text = json.dumps(result, indent=2)
            if args.json == "-":
                print(text)
            else:
                Path(args.json).write_text(text + "\n")
        if problems:
            log("the figures are meaningless: a side did not do its job on every event:\n  "
                + "\n  ".join(problems[:20]) + f"\nfunction logs are in {workdir}")
            return 1
        ok = True
        return 0
    finally:
        moto.stop()
        if ok and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"work directory (function logs): {workdir}")


def print_report(r):
    m = r["machine"]
    print()
    print(f"DriftGuard ingest vs Cloud Custodian {r['versions']['c7n']} (awslambdaric {r['versions']['awslambdaric']}), "
          f"moto {r['versions']['moto']}, Runtime API on loopback")
    print(f"event: {r['event']} (SSH opened to 0.0.0.0/0 on a Terraform-managed group)")
    print(f"machine: {m['cores']} cores {m['arch']}, Python {m['python']}, 1-min load "
          f"{m['load_average_1m'][0]} at start, {m['load_average_1m'][1]} at end; "
          f"{r['cold_starts']} cold starts (median), {r['invocations']} warm invocations per side")
    print(f"DriftGuard: SQS batch of one (rule -> queue -> function), binary {r['ingest_binary_bytes'] / 1e6:.1f} MB; "
          f"Custodian: the EventBridge event, c7n archive {r['custodian_archive_bytes'] / 1e6:.1f} MB, "
          f"output_dir {r['custodian_output']}")
    print()
    print(table(r))
    print()
    dg, cc = r["driftguard"], r["custodian"]
    print(f"per event, median of the first / last tenth of the warm invocations: DriftGuard "
          f"{dg['latency_first_tenth_median_ms']:.1f} / {dg['latency_last_tenth_median_ms']:.1f} ms, Custodian "
          f"{cc['latency_first_tenth_median_ms']:.1f} / {cc['latency_last_tenth_median_ms']:.1f} ms (moto's "
          "TransactWriteItems copies the whole table, so DriftGuard's calls cost more as findings accumulate)")
    for side, text in r["checks"].items():
        print(f"checked, {side}: {text}")
    if r["problems"]:
        print(f"INVALID: {len(r['problems'])} problem(s); the figures above are meaningless")


if __name__ == "__main__":
    sys.exit(main())
