"""Compares Ansible's and rplay's results on the Kubespray corpus and prints a report.

Usage: compare.py DIR                  the report
       compare.py DIR --cause TEXT     the cases whose cause contains TEXT
       compare.py DIR --case NAME      one case: its text and both results

DIR holds cases.json (extract.py), ansible.json (evaluate.py) and rplay.json (the
template_corpus test). A case matches when both sides fail, or when both succeed with
the same value (dict key order ignored) and the same type family.

Each mismatch is put down to one cause. A failure of rplay alone is named after its
error: an unknown filter, test, method or lookup by that name, other errors by their
message with quoted parts blanked. A failure of Ansible alone is named after Ansible's
error the same way. A value difference is put down to the filter, test, method or
lookup in the case whose cases match least often across the corpus, the first
differing feature as far as the corpus can tell; a case using none is "value: other".
Features whose results vary from run to run in Ansible itself are marked: `random`,
`shuffle`, the password lookup, and the set filters, whose order comes from Python's
per-process string hashing.
"""

import collections
import json
import os
import re
import sys

FILTER = re.compile(r"\|\s*([A-Za-z_][\w.]*)")
TEST = re.compile(r"\bis\s+(?:not\s+)?([A-Za-z_][\w.]*)")
METHOD = re.compile(r"\.([A-Za-z_]\w*)\s*\(")
LOOKUP = re.compile(r"\b(?:lookup|query|q)\(\s*['\"]([\w.]+)['\"]")
NONDETERMINISTIC = {
    "filter random", "filter shuffle", "lookup password", "filter union",
    "filter intersect", "filter difference", "filter symmetric_difference",
}
QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def features(text):
    found = []
    for kind, pattern in (("filter", FILTER), ("test", TEST), ("method", METHOD), ("lookup", LOOKUP)):
        for name in pattern.findall(text):
            feature = f"{kind} {name}"
            if feature not in found:
                found.append(feature)
    return found


def canonical(result):
    return json.dumps(result.get("value"), sort_keys=True), result.get("type")


def outcome(ansible, rplay):
    if "error" in ansible and "error" in rplay:
        return "both fail"
    if "error" in ansible:
        return "only Ansible fails"
    if "error" in rplay:
        return "only rplay fails"
    return "match" if canonical(ansible) == canonical(rplay) else "value differs"


def error_cause(message):
    unknown = re.search(r"no (filter|test|lookup plugin|method) named '([^']+)'", message)
    if unknown:
        return f"unknown {unknown.group(1)} {unknown.group(2)}"
    unknown = re.search(r"(filter|test|lookup plugin) \(?([\w.]+)\)? not found", message)
    if unknown:
        return f"unknown {unknown.group(1)} {unknown.group(2)}"
    unknown = re.search(r"Could not load \"([^\"]+)\".*\((test|filter) not found\)", message)
    if unknown:
        return f"unknown {unknown.group(2)} {unknown.group(1)}"
    mutating = re.search(r"mutating method (\w+)\(\)", message)
    if mutating:
        return f"method {mutating.group(1)}: mutating"
    # The wrapper Ansible puts around conditionals and lookups says nothing about the cause.
    message = re.sub(r"^The conditional check .*? failed\. The error was: ", "", message, flags=re.S)
    message = re.sub(r"^An unhandled exception occurred while templating .*?Error was a <class '[\w.]+'>, original message: ", "", message, flags=re.S)
    message = message.split("\n")[0]
    return QUOTED.sub("'…'", message)[:100]


class Corpus:
    def __init__(self, directory):
        def load(name):
            with open(os.path.join(directory, name)) as f:
                return json.load(f)

        self.cases = load("cases.json")
        ansible = {r["name"]: r for r in load("ansible.json")}
        rplay = {r["name"]: r for r in load("rplay.json")}
        self.results = [(case, ansible[case["name"]], rplay[case["name"]]) for case in self.cases]
        self.outcomes = {case["name"]: outcome(a, r) for case, a, r in self.results}
        self.match_rate = self.feature_match_rates()

    def feature_match_rates(self):
        seen = collections.Counter()
        matched = collections.Counter()
        for case, _, _ in self.results:
            for feature in features(case["text"]):
                seen[feature] += 1
                if self.outcomes[case["name"]] in ("match", "both fail"):
                    matched[feature] += 1
        return {feature: matched[feature] / seen[feature] for feature in seen}

    def cause(self, case, ansible, rplay):
        kind = self.outcomes[case["name"]]
        if kind == "only rplay fails":
            return "rplay fails: " + error_cause(rplay["error"])
        if kind == "only Ansible fails":
            return f"Ansible fails ({ansible['error_class']}): " + error_cause(ansible["error"])
        found = features(case["text"])
        if not found:
            return "value: other"
        worst = min(found, key=lambda f: (self.match_rate[f], found.index(f)))
        if any(f in NONDETERMINISTIC for f in found):
            worst = next(f for f in found if f in NONDETERMINISTIC) + " (varies between Ansible runs)"
        return "value: " + worst

    def mismatches(self):
        for case, ansible, rplay in self.results:
            if self.outcomes[case["name"]] not in ("match", "both fail"):
                yield case, ansible, rplay, self.cause(case, ansible, rplay)


def percent(part, whole):
    return f"{100.0 * part / whole:.1f} %" if whole else "n/a"


def report(corpus):
    outcomes = collections.Counter(corpus.outcomes.values())
    kinds = collections.Counter(case["kind"] for case in corpus.cases)
    total = len(corpus.cases)
    ansible_ok = [c for c, a, _ in corpus.results if "error" not in a]
    value_match = sum(1 for c in ansible_ok if corpus.outcomes[c["name"]] == "match")
    agree = outcomes["match"] + outcomes["both fail"] + outcomes["value differs"]
    files = [(c, a, r) for c, a, r in corpus.results if c["kind"] == "file"]
    files_ok = [c for c, a, _ in files if "error" not in a]
    identical = sum(1 for c in files_ok if corpus.outcomes[c["name"]] == "match")
    print(f"cases: {total} ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))})")
    print(f"Ansible evaluates without error: {len(ansible_ok)}")
    print(f"value+type match where Ansible succeeds: {value_match}/{len(ansible_ok)} = {percent(value_match, len(ansible_ok))}")
    print(f"error/no-error agreement: {agree}/{total} = {percent(agree, total)}")
    print(f"  only rplay fails: {outcomes['only rplay fails']}, only Ansible fails: {outcomes['only Ansible fails']}")
    print(f".j2 files byte-identical: {identical}/{len(files_ok)} rendered by Ansible ({len(files)} files)")
    causes = collections.defaultdict(list)
    for case, _, _, cause in corpus.mismatches():
        causes[cause].append(case)
    print(f"\nmismatches by cause ({sum(len(v) for v in causes.values())}):")
    print(f"{'cases':>5}  cause  [first case]")
    for cause, cases in sorted(causes.items(), key=lambda item: (-len(item[1]), item[0])):
        print(f"{len(cases):>5}  {cause}  [{cases[0]['name']} {cases[0]['source']}]")


def show_case(corpus, name):
    for case, ansible, rplay in corpus.results:
        if case["name"] == name:
            print(f"{case['name']} {case['kind']} {case['source']} (x{case['count']})")
            print(case["text"])
            print("--- Ansible:", json.dumps(ansible, ensure_ascii=False)[:3000])
            print("--- rplay:  ", json.dumps(rplay, ensure_ascii=False)[:3000])


def main(argv):
    corpus = Corpus(argv[0])
    if argv[1:2] == ["--cause"]:
        for case, _, _, cause in corpus.mismatches():
            if argv[2] in cause:
                print(f"{case['name']}  {case['source']}  {cause}")
        return 0
    if argv[1:2] == ["--case"]:
        show_case(corpus, argv[2])
        return 0
    report(corpus)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
