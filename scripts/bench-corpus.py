#!/usr/bin/env python3
"""Builds a benchmark corpus for `driftguard bench` from real CloudTrail records.

Collects every CloudTrail record found in ../shared/data (the public corpora) and in events/,
then writes CloudTrail log files ({"Records": [...]}, 1,000 records each) to --out, cycling
through the collected records with fresh eventIDs until --records are written. Nothing is
written into the repository.

    python3 scripts/bench-corpus.py --out /tmp/driftguard-bench --records 100000
"""
import argparse, gzip, json, os, sys, uuid

REQUIRED = ("eventTime", "eventSource", "eventName")


def records_in(value, out):
    if isinstance(value, dict):
        if all(isinstance(value.get(k), str) for k in REQUIRED) and isinstance(value.get("userIdentity"), dict):
            out.append(value)
            return
        for v in value.values():
            records_in(v, out)
    elif isinstance(value, list):
        for v in value:
            records_in(v, out)
    elif isinstance(value, str) and value.lstrip().startswith("{") and '"eventSource"' in value:
        try:
            records_in(json.loads(value), out)  # SQS bodies and StreamAlert "data" strings
        except ValueError:
            pass


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    try:
        return json.loads(raw)
    except ValueError:
        return None


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--records", type=int, default=100_000)
    p.add_argument("--data", default=os.path.join(root, "..", "shared", "data"))
    args = p.parse_args()

    found = []
    for base in (args.data, os.path.join(root, "events")):
        for dirpath, dirs, files in os.walk(base):
            dirs[:] = [d for d in dirs if d != "schema"]
            for name in sorted(files):
                if name.endswith((".json", ".gz")):
                    doc = load(os.path.join(dirpath, name))
                    if doc is not None:
                        records_in(doc, found)
    found = [
        r for r in found
        if (r.get("recipientAccountId") or r["userIdentity"].get("accountId")) and r["eventTime"][:4].isdigit()
    ]
    if not found:
        sys.exit("no CloudTrail records found (is ../shared/data present?)")
    os.makedirs(args.out, exist_ok=True)
    written, batch, n = 0, [], 0
    while written < args.records:
        r = dict(found[written % len(found)])
        r["eventID"] = str(uuid.UUID(int=written + 1))
        batch.append(r)
        written += 1
        if len(batch) == 1000 or written == args.records:
            with open(os.path.join(args.out, f"bench_CloudTrail_{n:05d}.json"), "w") as f:
                json.dump({"Records": batch}, f, separators=(",", ":"))
            batch, n = [], n + 1
    print(f"{len(found)} distinct real records -> {written} records in {n} files under {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
