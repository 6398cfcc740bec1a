"""Summarises Schemathesis NDJSON reports: requests sent per operation and run, and failed checks.

    python infra/fuzz/summary.py .local/stack-9000/fuzz/*.ndjson

Exits 1 when any check failed, so the caller cannot miss a failure a report holds. Also reports
the emulator's own 500s that hooks.py retried (emulator-500s.jsonl next to the reports), and the
contract's 503s it sent again after their Retry-After (unavailable-503s.jsonl).
"""

import json
import sys
from collections import Counter, defaultdict
from pathlib import Path


def read(report: Path):
    sent: Counter = Counter()
    failed: Counter = Counter()
    for line in report.open():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        recorder = finished["recorder"]
        for case_id, case in recorder.get("cases", {}).items():
            value = case["value"]
            label = recorder["label"]
            if finished["phase"] == "stateful":
                # Stateful scenarios chain operations: count each request under its own.
                label = f"{value['method']} {value['path']}"
            if case_id in recorder.get("interactions", {}):
                sent[label] += 1
            for check in recorder.get("checks", {}).get(case_id, []):
                if check["status"] == "failure":
                    failed[(label, check["name"])] += 1
    return sent, failed


def main(paths: list[str]) -> int:
    reports = [Path(p) for p in paths]
    table: dict[str, dict[str, int]] = defaultdict(dict)
    failures: Counter = Counter()
    for report in reports:
        sent, failed = read(report)
        for label, count in sent.items():
            table[label][report.stem] = count
        failures.update(failed)
    runs = [r.stem for r in reports]
    width = max((len(label) for label in table), default=10)
    print(f"{'operation':<{width}}  " + "  ".join(f"{r:>9}" for r in runs))
    for label in sorted(table, key=lambda l: (l.split(" ", 1)[-1], l)):
        print(f"{label:<{width}}  " + "  ".join(f"{table[label].get(r, 0):>9}" for r in runs))
    totals = [sum(table[l].get(r, 0) for l in table) for r in runs]
    print(f"{'total requests':<{width}}  " + "  ".join(f"{t:>9}" for t in totals))
    for (label, check), count in sorted(failures.items()):
        print(f"FAILED {check} on {label}: {count} case(s)")
    emulator = reports[0].parent / "emulator-500s.jsonl" if reports else None
    if emulator and emulator.exists():
        retried = [json.loads(line) for line in emulator.open() if line.strip()]
        answered = sum(1 for r in retried if r["retried_status"] < 500)
        print(
            f"cargo lambda watch answered {len(retried)} request(s) with its own 500; "
            f"{answered} answered below 500 when sent again: {[r['request'] for r in retried]}"
        )
    unavailable = reports[0].parent / "unavailable-503s.jsonl" if reports else None
    if unavailable and unavailable.exists():
        retried = [json.loads(line) for line in unavailable.open() if line.strip()]
        answered = sum(1 for r in retried if r["retried_status"] < 500)
        print(
            f"the stack answered {len(retried)} request(s) with the contract's 503 (a storage call past "
            f"its budget); {answered} answered below 500 when sent again after Retry-After: "
            f"{[r['request'] for r in retried]}"
        )
    valid = reports[0].parent / "valid-negatives.jsonl" if reports else None
    if valid and valid.exists():
        dropped = [json.loads(line) for line in valid.open() if line.strip()]
        print(
            f"dropped {len(dropped)} report(s) of 'schema-violating request accepted' whose body the "
            f"document's schema accepts: {[(d['operation'], d['body']) for d in dropped]}"
        )
    print(f"latchkey fuzz: {sum(totals)} requests, {sum(failures.values())} failed checks")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
