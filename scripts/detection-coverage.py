#!/usr/bin/env python3
"""Measures how deep DriftGuard's detection reaches on the public CloudTrail corpora.

Writes every distinct CloudTrail record of ../shared/data once (through bench-corpus.py), runs
`driftguard explain` and `driftguard coverage` on it, and prints:

- the share of write events (not read-only) that explain attributes to an actor (goal 100%);
- of the write calls the catalog maps to a resource and that change an existing resource (not the
  creation or deletion of the resource itself, not failed, not by an AWS service, not IaC), the
  share whose call has an attribute comparison, i.e. gives expected vs found on an IaC-managed
  resource instead of "changed out of band" (goal >= 90%); interactive access (SSM commands and
  sessions, EC2 Instance Connect) is an `access` finding that by design names no attribute, and is
  not counted;
- the remaining calls without one, by count.

    python3 scripts/detection-coverage.py --driftguard target/release/driftguard
"""
import argparse, collections, json, os, re, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
# A call that creates or deletes the resource itself: an `unmanaged` or `missing` finding, no attribute.
WHOLE_RESOURCE = re.compile(r"^(Create|Delete|Run|Terminate|Restore|Schedule\w*Deletion)")
# Interactive access: an `access` finding, which by design names no attribute.
ACCESS = {"SendCommand", "StartSession", "SendSSHPublicKey", "SendSerialConsoleSSHPublicKey"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--driftguard", default="driftguard", help="the driftguard binary")
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "corpus")
        made = subprocess.run(
            [sys.executable, os.path.join(HERE, "bench-corpus.py"), "--out", os.path.join(tmp, "count"),
             "--records", "1"],
            capture_output=True, text=True, check=True,
        )
        distinct = int(re.search(r"(\d+) distinct", made.stdout + made.stderr).group(1))
        subprocess.run(
            [sys.executable, os.path.join(HERE, "bench-corpus.py"), "--out", corpus, "--records", str(distinct)],
            capture_output=True, check=True,
        )
        explained = subprocess.run(
            [args.driftguard, "explain", corpus, "--format", "jsonl"], capture_output=True, text=True
        ).stdout
        coverage = json.loads(
            subprocess.run([args.driftguard, "coverage", "--format", "json"], capture_output=True, text=True,
                           check=True).stdout
        )

    compared = set()
    for row in coverage:
        for attribute in row.get("call_attributes", []):
            m = re.search(r"\((\w+)\)$", attribute)
            if m:
                compared.add(m.group(1))

    traces = [json.loads(line) for line in explained.splitlines() if line.strip()]
    calls = [t for t in traces if "error" not in t]
    reason = lambda t: t["decision"].get("detail", {}).get("reason") if isinstance(t["decision"].get("detail"), dict) else None
    writes = [t for t in calls if reason(t) != "read_only"]
    attributed = [t for t in writes if t.get("actor")]
    print(f"records: {distinct} distinct; write events: {len(writes)}; attributed: {len(attributed)} "
          f"({100 * len(attributed) / max(1, len(writes)):.1f}%)")

    name = lambda t: t["call"].split(":", 1)[1]
    changes = [
        t for t in writes
        if t.get("resource")
        and reason(t) not in ("failed_call", "aws_service")
        and t["decision"]["outcome"] != "iac"
        and (not WHOLE_RESOURCE.match(name(t)) or name(t) in compared)
        and name(t) not in ACCESS
    ]
    with_attribute = [t for t in changes if name(t) in compared]
    print(f"changes to existing resources: {len(changes)}; with an attribute comparison: {len(with_attribute)} "
          f"({100 * len(with_attribute) / max(1, len(changes)):.1f}%)")
    rest = collections.Counter(t["call"] for t in changes if name(t) not in compared)
    for call, n in rest.most_common(args.top):
        print(f"  {n:4}  {call}")


if __name__ == "__main__":
    main()
