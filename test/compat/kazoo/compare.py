"""Compares kazoo's results against ZephyrCoord with its results against Apache ZooKeeper.

    compare.py REFERENCE.xml CANDIDATE.xml

Both are pytest junit reports of the same suite (run.sh zk / run.sh zephyr). Prints the counts
side by side and every test that passed on the reference but not on the candidate (failed,
errored, skipped or missing). Exits 1 when there is such a test, when the candidate passed fewer
tests or skipped more, or when either report is missing or empty: kazoo skips tests on its own
(for example when the server's version looks too old), so a run that is green but smaller than
the reference's must not pass.
"""
import sys
import xml.etree.ElementTree as ET


def outcomes(path):
    """test id -> 'passed' | 'failed' | 'error' | 'skipped'"""
    result = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        test_id = case.get("classname", "") + "::" + case.get("name", "")
        status = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                status = child.tag if child.tag != "failure" else "failed"
                break
        result[test_id] = status
    return result


def counts(results):
    c = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    for status in results.values():
        c[status] += 1
    return c


def main(argv):
    if len(argv) != 3:
        print("usage: compare.py REFERENCE.xml CANDIDATE.xml", file=sys.stderr)
        return 2
    try:
        ref, cand = outcomes(argv[1]), outcomes(argv[2])
    except (OSError, ET.ParseError) as e:
        print(f"kazoo parity: cannot read a report: {e}")
        return 1
    rc, cc = counts(ref), counts(cand)
    for name, c in (("Apache ZooKeeper", rc), ("ZephyrCoord", cc)):
        print(f"kazoo parity: {name}: {c['passed']} passed, {c['failed']} failed, {c['error']} errors, {c['skipped']} skipped")
    lost = sorted(t for t, s in ref.items() if s == "passed" and cand.get(t) != "passed")
    for t in lost:
        print(f"kazoo parity: passes on Apache ZooKeeper, not on ZephyrCoord ({cand.get(t, 'not run')}): {t}")
    problems = []
    if rc["passed"] == 0:
        problems.append("the reference run passed no tests")
    if lost:
        problems.append(f"{len(lost)} tests pass only on Apache ZooKeeper")
    if cc["passed"] < rc["passed"]:
        problems.append(f"fewer passed ({cc['passed']} < {rc['passed']})")
    if cc["skipped"] > rc["skipped"]:
        problems.append(f"more skipped ({cc['skipped']} > {rc['skipped']})")
    if problems:
        print("kazoo parity: FAILED: " + "; ".join(problems))
        return 1
    print(f"kazoo parity: ok, {cc['passed']} passed on both")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
