"""Evaluates templating cases with ansible-core's own Templar and prints the results.

Usage: oracle.py CASES.json [CASES.json ...] > results.json
       oracle.py --record DIR     (rewrites the "expected" field of every case file in DIR)

A case is an object with:
  name   unique within its file
  kind   "expr": the text is templated as "{{ text }}";
         "str": the text is templated as it is (Templar.template);
         "value": "value" (any JSON) is templated recursively;
         "cond": the text is a `when:` conditional;
         "file": the text is a template file rendered as the template action does
  text   the template text (all kinds but "value")
  vars   the host's variables (optional); {"__unsafe__": "text"} is an unsafe string
  hosts  other inventory hosts and their variables (optional)
  groups inventory groups: {"name": ["host", ...]} (optional)
  options for "file": trim_blocks, lstrip_blocks, newline_sequence (optional)
  host   the name of the host under test (optional, "testhost" by default)
  facts  gathered facts by host name, as `setup` returns them (optional). They go into
         the fact cache, whose `ansible_facts` replaces one set as a host variable;
         rplay's case runner ignores this field, so the same facts must also be in
         the hosts' variables

The result of a case is {"value": JSON, "type": Python type name, "warnings": [...]}
or {"error": message, "error_class": exception class name, "warnings": [...]}.
The host under test is called "testhost"; the omit token is replaced by rplay's.
"""

import json
import os
import sys
import tempfile

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.conditional import Conditional
from ansible.playbook.play import Play
from ansible.plugins.loader import init_plugin_loader
from ansible.template import AnsibleEnvironment, Templar
from ansible.utils.display import Display
from ansible.utils.unsafe_proxy import wrap_var
from ansible.vars.hostvars import HostVars
from ansible.vars.manager import VariableManager

RPLAY_OMIT = "__omit_place_holder__1f0c8b4e2b8d7c6a5f4e3d2c1b0a998877665544"
TEST_HOST = "testhost"

warnings = []


def capture_warning(self, msg, formatted=False):
    # The oracle builds its inventory in memory, which Ansible warns about.
    if not str(msg).startswith("No inventory was parsed"):
        warnings.append(str(msg))


def capture_deprecated(self, msg, version=None, removed=False, date=None, collection_name=None):
    warnings.append("[DEPRECATION WARNING]: " + str(msg))


Display.warning = capture_warning
Display.deprecated = capture_deprecated


def from_case_json(value):
    if isinstance(value, dict):
        if set(value) == {"__unsafe__"}:
            return wrap_var(value["__unsafe__"])
        return {k: from_case_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_case_json(v) for v in value]
    return value


def to_result_json(value, omit):
    if isinstance(value, str):
        return str(value).replace(omit, RPLAY_OMIT)
    if isinstance(value, dict):
        return {str(to_result_json(k, omit)): to_result_json(v, omit) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_result_json(v, omit) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return repr(value)


def build_variables(case, loader):
    inventory = InventoryManager(loader=loader, sources=None)
    test_host = case.get("host", TEST_HOST)
    hosts = {test_host: {}}
    hosts.update(case.get("hosts") or {})
    for group in (case.get("groups") or {}):
        inventory.add_group(group)
    for name in hosts:
        inventory.add_host(name, group="all")
    for group, members in (case.get("groups") or {}).items():
        for member in members:
            inventory.add_host(member, group=group)
    for name, host_vars in hosts.items():
        host = inventory.get_host(name)
        for key, value in from_case_json(host_vars).items():
            host.set_variable(key, value)
    inventory.reconcile_inventory()
    host = inventory.get_host(test_host)
    for key, value in from_case_json(case.get("vars") or {}).items():
        host.set_variable(key, value)
    manager = VariableManager(loader=loader, inventory=inventory)
    for name, facts in (case.get("facts") or {}).items():
        manager.set_host_facts(name, from_case_json(facts))
    manager._hostvars = HostVars(inventory=inventory, variable_manager=manager, loader=loader)
    play = Play.load(dict(name="oracle", hosts="all", gather_facts=False), variable_manager=manager, loader=loader)
    return manager, manager.get_vars(play=play, host=host)


def render_file(templar, text, options):
    templar = templar.copy_with_new_env(
        environment_class=AnsibleEnvironment,
        newline_sequence=options.get("newline_sequence", "\n"),
    )
    overrides = dict(
        trim_blocks=options.get("trim_blocks", True),
        lstrip_blocks=options.get("lstrip_blocks", False),
    )
    return templar.do_template(
        text, preserve_trailing_newlines=True, escape_backslashes=False, overrides=overrides
    )


def evaluate(case, loader):
    manager, variables = build_variables(case, loader)
    templar = Templar(loader=loader, variables=variables)
    return evaluate_with(templar, variables, case, loader), manager


def evaluate_with(templar, variables, case, loader):
    """Evaluates one case in an existing context (the cases' own context is ignored)."""
    kind = case["kind"]
    if kind == "expr":
        return templar.template("{{ " + case["text"] + " }}")
    if kind == "str":
        return templar.template(from_case_json(case["text"]))
    if kind == "value":
        return templar.template(from_case_json(case["value"]))
    if kind == "cond":
        conditional = Conditional(loader=loader)
        conditional.when = [case["text"]]
        return conditional.evaluate_conditional(templar, variables)
    if kind == "file":
        return render_file(templar, case["text"], case.get("options") or {})
    raise ValueError("unknown case kind: " + kind)


def run_case(case, loader):
    del warnings[:]
    try:
        value, manager = evaluate(case, loader)
        omit = manager._omit_token
        return {
            "value": to_result_json(value, omit),
            "type": type(value).__name__,
            "warnings": [w.replace(omit, RPLAY_OMIT) for w in warnings],
        }
    except Exception as error:
        message = getattr(error, "message", None) or str(error)
        return {
            "error": str(message),
            "error_class": type(error).__name__,
            "warnings": list(warnings),
        }


def main(argv):
    # As ansible-playbook does, so collection plugins (ansible.utils.*) resolve.
    init_plugin_loader([])
    loader = DataLoader()
    if argv[:1] == ["--record"]:
        directory = argv[1]
        for name in sorted(os.listdir(directory)):
            if not name.endswith(".json"):
                continue
            path = os.path.join(directory, name)
            with open(path) as f:
                cases = json.load(f)
            for case in cases:
                case["expected"] = run_case(case, loader)
            with open(path, "w") as f:
                json.dump(cases, f, indent=1, ensure_ascii=False)
                f.write("\n")
        return 0
    results = []
    for path in argv:
        with open(path) as f:
            for case in json.load(f):
                results.append(dict(name=case.get("name"), **run_case(case, loader)))
    json.dump(results, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
