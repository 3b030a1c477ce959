"""Evaluates the Kubespray corpus with ansible-core's own Templar.

Usage: evaluate.py CONTEXT.json CASES.json MAGIC.json > results.json

All cases share the context that extract.py built. The magic variables that Ansible's
variable manager adds to it (`ansible_version`, `playbook_dir`, `ansible_play_hosts`,
...) are written to MAGIC.json, so rplay's side can be given the same values. Variables stay raw in it, so
Ansible templates them lazily on access, as it does in a play. Each result is
{"name", "value", "type"} or {"name", "error", "error_class"}; "type" is the
Python type family of the value (str, int, float, bool, None, list, tuple, dict).
Run it with the oracle's Python.
"""

import json
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import oracle  # noqa: E402
from ansible.parsing.dataloader import DataLoader  # noqa: E402
from ansible.plugins.loader import init_plugin_loader  # noqa: E402
from ansible.template import Templar  # noqa: E402

# A case running longer than this is reported as an error.
CASE_TIMEOUT_SECONDS = 20


class CaseTimeout(Exception):
    pass


def on_alarm(signum, frame):
    raise CaseTimeout(f"case took longer than {CASE_TIMEOUT_SECONDS} s")


def type_family(value):
    if value is None:
        return "None"
    for family in (bool, int, float, str, dict, tuple, list):
        if isinstance(value, family):
            return family.__name__
    return type(value).__name__


def first_item(templar, loop):
    """The first item of a task's loop, or None when the loop fails or is empty."""
    try:
        items = templar.template(oracle.from_case_json(loop["value"]))
    except Exception:
        return None
    if not isinstance(items, list):
        return None
    if loop["keyword"] == "with_items":
        items = [leaf for item in items for leaf in (item if isinstance(item, list) else [item])]
    return items[:1] or None


def run(templar, variables, case, loader, omit):
    signal.alarm(CASE_TIMEOUT_SECONDS)
    try:
        loop = case.get("loop")
        item = first_item(templar, loop) if loop else None
        if item:
            variables = dict(variables)
            variables[loop["var"]] = item[0]
            templar = Templar(loader=loader, variables=variables)
        value = oracle.evaluate_with(templar, variables, case, loader)
        return {"value": oracle.to_result_json(value, omit), "type": type_family(value)}
    except Exception as error:
        message = getattr(error, "message", None) or str(error)
        return {"error": str(message).replace(omit, oracle.RPLAY_OMIT), "error_class": type(error).__name__}
    finally:
        signal.alarm(0)


def main(argv):
    context_path, cases_path, magic_path = argv
    init_plugin_loader([])
    loader = DataLoader()
    with open(context_path) as f:
        context = json.load(f)
    with open(cases_path) as f:
        cases = json.load(f)
    manager, variables = oracle.build_variables(context, loader)
    known = set(context["vars"]) | {"hostvars", "omit", "vars"}
    # rplay's case runner derives these from the inventory itself.
    known |= {"groups", "group_names", "inventory_hostname", "inventory_hostname_short"}
    omit = manager._omit_token
    magic = {k: oracle.to_result_json(variables[k], omit) for k in variables if k not in known}
    with open(magic_path, "w") as f:
        json.dump(magic, f, ensure_ascii=False)
    templar = Templar(loader=loader, variables=variables)
    signal.signal(signal.SIGALRM, on_alarm)
    results = []
    for case in cases:
        result = run(templar, variables, case, loader, omit)
        results.append(dict(name=case["name"], **result))
    json.dump(results, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
