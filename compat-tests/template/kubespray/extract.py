"""Extracts Kubespray's templating corpus and the context to evaluate it in.

Usage: extract.py KUBESPRAY_DIR FACTS.json OUT_DIR

Writes OUT_DIR/cases.json, a list of cases in the format of ../oracle.py (each also
has "source", the first file and YAML path it was found at, and "count", how often
the same text occurs), and OUT_DIR/context.json with "host", "vars", "hosts" and
"groups" for one host of a three-host inventory. Run it with the oracle's Python,
whose PyYAML and Ansible loader read the files as ansible-core does.

Cases:
  str   every string with a template delimiter in roles' defaults, vars, tasks and
        handlers, in the playbooks, and in the sample inventory's group_vars;
  cond  every `when`, `changed_when`, `failed_when`, `until` and assert `that` entry;
  file  every `.j2` file under roles/.
A case inside a task with `loop` or `with_items` also has "loop": {"keyword", "value",
"var"}: the task's loop, which the evaluators template first, binding its first item
(after one level of flattening for `with_items`) to the loop variable.

The context stacks, lowest first: every role's defaults (kubespray_defaults first,
then the others by path), the sample group_vars (`all`, then `k8s_cluster`) with
`credentials_dir` set to OUT_DIR/credentials, the
inventory's host variables, the host's facts (unsafe strings, as gathered facts
are), the facts Kubespray's network_facts role sets for an IPv4 cluster, every role's
vars, and a few variables of the template action. The other two hosts get the
group_vars, their host variables, the same gathered facts and their network facts.
"""

import glob
import json
import os
import sys

import yaml
from ansible.parsing.yaml.loader import AnsibleLoader
from ansible.utils.unsafe_proxy import AnsibleUnsafe
from ansible.vars.clean import clean_facts, namespace_facts

CONDITIONAL_KEYS = ("when", "changed_when", "failed_when", "until")
LOOP_KEYS = ("loop", "with_items")
ASSERT_MODULES = ("assert", "ansible.builtin.assert")
DELIMITERS = ("{{", "{%", "{#")

# The inventory of fixtures/kubespray/inventory.ini.
HOSTS = {
    "test-1": {"ansible_host": "10.251.0.11", "ip": "10.251.0.11", "etcd_member_name": "etcd1"},
    "test-2": {"ansible_host": "10.251.0.12", "ip": "10.251.0.12"},
    "test-3": {"ansible_host": "10.251.0.13", "ip": "10.251.0.13"},
}
HOST_UNDER_TEST = "test-1"
GROUPS = {
    "kube_control_plane": ["test-1"],
    "etcd": ["test-1"],
    "kube_node": ["test-2", "test-3"],
    "k8s_cluster": ["test-1", "test-2", "test-3"],
    "calico_rr": [],
    "bastion": [],
}
ALL_VARS = {"ansible_user": "root"}


def network_facts(inventory_vars):
    """What `set_fact` in roles/network_facts computes for an IPv4-only host."""
    ip = inventory_vars["ip"]
    return {"main_ip": ip, "main_access_ip": ip, "main_ips": [ip], "main_access_ips": [ip]}


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        try:
            return yaml.load(f, Loader=AnsibleLoader)
        except yaml.YAMLError as error:
            print(f"extract: skipping {path}: {error}", file=sys.stderr)
            return None


def is_template_text(value):
    return isinstance(value, str) and any(d in value for d in DELIMITERS)


class Corpus:
    def __init__(self, root):
        self.root = root
        self.cases = {}

    def add(self, kind, text, source, loop=None):
        if isinstance(text, AnsibleUnsafe):
            return
        key = (kind, str(text), json.dumps(loop))
        if key in self.cases:
            self.cases[key]["count"] += 1
            return
        case = {
            "name": f"{kind}-{len(self.cases):05d}",
            "kind": kind,
            "text": str(text),
            "source": source,
            "count": 1,
        }
        if loop:
            case["loop"] = loop
        self.cases[key] = case

    def add_condition(self, value, source, loop):
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            if isinstance(item, str):
                where = source if len(items) == 1 else f"{source}[{index}]"
                self.add("cond", item, where, loop)

    def walk(self, node, source, parent_key=None, loop=None):
        if isinstance(node, dict):
            loop = task_loop(node) or loop
            for key, value in node.items():
                where = f"{source}.{key}"
                if key in CONDITIONAL_KEYS:
                    self.add_condition(value, where, loop)
                elif key == "that" and parent_key in ASSERT_MODULES:
                    self.add_condition(value, where, loop)
                elif key in LOOP_KEYS:
                    self.walk(value, where, key)
                else:
                    self.walk(value, where, key, loop)
        elif isinstance(node, list):
            for index, item in enumerate(node):
                self.walk(item, f"{source}[{index}]", parent_key, loop)
        elif is_template_text(node):
            self.add("str", node, source, loop)

    def add_yaml_file(self, path):
        data = load_yaml(path)
        if data is not None:
            self.walk(data, os.path.relpath(path, self.root))

    def add_template_file(self, path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        self.add("file", text, os.path.relpath(path, self.root))


def task_loop(task):
    """The loop of a task with `loop` or `with_items`, in the form cases carry it."""
    for keyword in LOOP_KEYS:
        if keyword in task and isinstance(task[keyword], (str, list)):
            control = task.get("loop_control")
            var = control.get("loop_var", "item") if isinstance(control, dict) else "item"
            return {"keyword": keyword, "value": plain_json(task[keyword]), "var": str(var)}
    return None


def role_dirs(root):
    """Role directories under roles/, kubespray_defaults first, then by path."""
    found = set()
    for part in ("defaults", "vars", "tasks", "handlers", "templates"):
        for path in glob.glob(os.path.join(root, "roles", "**", part), recursive=True):
            found.add(os.path.dirname(path))
    first = os.path.join(root, "roles", "kubespray_defaults")
    return sorted(found, key=lambda d: (d != first, d))


def main_files(role, part):
    """The files Ansible loads for a role's `main` defaults or vars, in its order."""
    single = [os.path.join(role, part, "main" + ext) for ext in (".yml", ".yaml")]
    files = [path for path in single if os.path.isfile(path)]
    directory = os.path.join(role, part, "main")
    if os.path.isdir(directory):
        files += sorted(glob.glob(os.path.join(directory, "*.yml")))
    return files


def merge_files(target, paths):
    for path in paths:
        data = load_yaml(path)
        if isinstance(data, dict):
            target.update(data)


def collect_cases(root, roles):
    corpus = Corpus(root)
    for role in roles:
        for part in ("defaults", "vars", "tasks", "handlers"):
            for path in sorted(glob.glob(os.path.join(role, part, "**", "*.y*ml"), recursive=True)):
                corpus.add_yaml_file(path)
        for path in sorted(glob.glob(os.path.join(role, "templates", "**", "*.j2"), recursive=True)):
            corpus.add_template_file(path)
    playbooks = sorted(glob.glob(os.path.join(root, "*.yml")))
    playbooks += sorted(glob.glob(os.path.join(root, "playbooks", "*.yml")))
    playbooks += sorted(glob.glob(os.path.join(root, "inventory", "sample", "group_vars", "**", "*.yml"), recursive=True))
    for path in playbooks:
        corpus.add_yaml_file(path)
    return list(corpus.cases.values())


def unsafe_json(value):
    """Marks every string as unsafe in the oracle's case format, as facts are."""
    if isinstance(value, str):
        return {"__unsafe__": value}
    if isinstance(value, dict):
        return {k: unsafe_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unsafe_json(v) for v in value]
    return value


def plain_json(value):
    if isinstance(value, AnsibleUnsafe):
        return {"__unsafe__": str(value)}
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def fact_vars(facts):
    facts = clean_facts(facts)
    merged = dict(namespace_facts(facts))
    merged.update(facts)
    return unsafe_json(merged)


def build_context(root, roles, facts, out):
    # Kubespray keeps generated passwords under `{{ inventory_dir }}/credentials`; the
    # oracle's in-memory inventory has no directory, so the path would be /credentials.
    group_vars = dict(ALL_VARS, credentials_dir=os.path.join(out, "credentials"))
    for group in ("all", "k8s_cluster"):
        pattern = os.path.join(root, "inventory", "sample", "group_vars", group, "*.yml")
        merge_files(group_vars, sorted(glob.glob(pattern)))
    defaults, role_vars = {}, {}
    for role in roles:
        merge_files(defaults, main_files(role, "defaults"))
        merge_files(role_vars, main_files(role, "vars"))
    host_facts = fact_vars(facts)
    cached_facts = {name: unsafe_json(clean_facts(facts)) for name in HOSTS}
    hosts = {}
    for name, inventory_vars in HOSTS.items():
        layers = [plain_json(group_vars), inventory_vars, host_facts, network_facts(inventory_vars)]
        if name == HOST_UNDER_TEST:
            layers = [plain_json(defaults)] + layers + [plain_json(role_vars)]
        merged = {}
        for layer in layers:
            merged.update(layer)
        hosts[name] = merged
    test_vars = hosts.pop(HOST_UNDER_TEST)
    test_vars.update(
        ansible_managed="Ansible managed",
        template_host="controller",
        template_uid="root",
    )
    # The oracle also stores the facts in its fact cache, as `setup` leaves them.
    return {"host": HOST_UNDER_TEST, "vars": test_vars, "hosts": hosts, "groups": GROUPS, "facts": cached_facts}


def main(argv):
    root, facts_path, out = argv
    roles = role_dirs(root)
    with open(facts_path) as f:
        facts = json.load(f)
    os.makedirs(out, exist_ok=True)
    cases = collect_cases(root, roles)
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(cases, f, ensure_ascii=False)
    with open(os.path.join(out, "context.json"), "w") as f:
        json.dump(build_context(root, roles, facts, os.path.abspath(out)), f, ensure_ascii=False)
    kinds = {}
    for case in cases:
        kinds[case["kind"]] = kinds.get(case["kind"], 0) + 1
    print(f"extract: {len(cases)} cases {kinds}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
