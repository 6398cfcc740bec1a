"""Holds template.yaml's IAM policies to what the functions' code called during the test run.

The local stack's functions refuse any AWS action their policy does not grant and record every
action they call (shared/aws/src/clients.rs, PolicyGuard). After the tests, this script fails when a
function called an action its policy does not grant, or is granted an action it never called.
Usage: iam_check.py <iam.json> <iam-calls.log>
"""

import json
import sys


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        granted = {name: set(actions) for name, actions in json.load(f).items()}
    called = {name: set() for name in granted}
    try:
        with open(sys.argv[2], encoding="utf-8") as f:
            for line in f:
                function, action = line.split()
                called.setdefault(function, set()).add(action)
    except FileNotFoundError:
        pass
    problems = []
    for function in sorted(set(granted) | set(called)):
        allowed, used = granted.get(function, set()), called.get(function, set())
        for action in sorted(used - allowed):
            problems.append(f"{function} calls {action}, which its policy does not grant")
        for action in sorted(allowed - used):
            problems.append(f"{function} is granted {action}, which its code never called")
        print(f"latchkey iam: {function}: {len(used & allowed)} of {len(allowed)} granted actions called")
    for problem in problems:
        print(f"latchkey iam: {problem}")
    print(f"latchkey iam: {'policies match the code' if not problems else f'{len(problems)} mismatches'}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
