#!/usr/bin/env python3
"""Merges the JSON Lines of several `kdig check --json` runs into one stream (check-fleet.sh).

usage: merge_check_lines.py --dumps FILE [--start EPOCH_SECONDS] < lines

Reads the runs' lines on stdin. Each dump line is printed as it arrives (unchanged); each run's
summary is dropped. At the end: an error line for every dump of FILE (one path a line) that no
run reported on, then ONE summary recomputed from the dump lines as kdig check computes it
(docs/ci.md, "The summary"), and the exit status it names: 2 when a dump is an error, else 1
when one has findings, else 0 (128 + the signal when a run was interrupted).
"""
import argparse
import json
import sys
import time

SIGNALS = {"SIGINT": 2, "SIGTERM": 15}


def compact(obj):
    """kdig's encoding: sorted keys, no spaces."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def missing_report(dump):
    """The line for a dump whose batch gave no report (the host failed, not the dump)."""
    return {
        "schemaVersion": 1, "dump": dump, "status": "error", "kernel": None, "crash": None,
        "sections": [], "findings": [], "elapsed": 0,
        "error": {"category": "crashed",
                  "message": "no report from the fleet: the kdig check run of this dump's batch failed "
                             "(host unreachable, kdig missing or killed; see its stderr)"},
    }


def summarize(reports, summaries, elapsed):
    s = {"total": len(reports), "ok": 0, "findings": 0, "error": 0, "findingCount": 0,
         "warningCount": 0, "acceptedCount": 0, "elapsed": round(elapsed, 3),
         "jobs": max([r.get("jobs", 1) for r in summaries] or [1]),
         "interrupted": None, "notChecked": 0}
    for r in reports:
        s[r["status"]] += 1
        for f in r["findings"]:
            if f["accepted"] is not None:
                s["acceptedCount"] += 1
            elif f["severity"] == "error":
                s["findingCount"] += 1
            elif f["severity"] == "warning":
                s["warningCount"] += 1
    # A baseline entry matched nothing in the fleet only if it matched nothing in every run.
    unmatched = None
    for run in summaries:
        entries = [compact(e) for e in run.get("unmatchedBaseline", [])]
        unmatched = entries if unmatched is None else [e for e in unmatched if e in entries]
    s["unmatchedBaseline"] = [json.loads(e) for e in unmatched or []]
    s["exitCode"] = 2 if s["error"] else 1 if s["findings"] else 0
    for run in summaries:
        if run.get("interrupted"):
            s["interrupted"] = run["interrupted"]
            s["notChecked"] += run.get("notChecked", 0)
            s["exitCode"] = 128 + SIGNALS.get(run["interrupted"], 15)
    return s


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dumps", required=True, help="the dump paths given, one a line")
    parser.add_argument("--start", type=float, default=time.time(), help="when the fleet run began (epoch seconds)")
    args = parser.parse_args()
    with open(args.dumps, encoding="utf-8") as f:
        expected = [line.rstrip("\n") for line in f if line.strip()]

    reports, summaries, reported = [], [], set()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            print(f"check-fleet: not a JSON line, ignored: {line[:200]}", file=sys.stderr)
            continue
        if "summary" in obj:
            summaries.append(obj["summary"])
            continue
        reports.append(obj)
        reported.add(obj.get("dump"))
        print(line, flush=True)
    for dump in expected:
        if dump not in reported:
            reported.add(dump)
            reports.append(missing_report(dump))
            print(compact(reports[-1]), flush=True)
    summary = summarize(reports, summaries, time.time() - args.start)
    print(compact({"schemaVersion": 1, "summary": summary}), flush=True)
    return summary["exitCode"]


if __name__ == "__main__":
    sys.exit(main())
