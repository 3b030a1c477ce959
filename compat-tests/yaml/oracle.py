#!/usr/bin/env python3
"""Load YAML files with ansible-core's own loader and print what it built as typed JSON.

Usage: oracle.py [--from-yaml] [--out-dir DIR] FILE...

Each file is read as Ansible's DataLoader reads it (bytes decoded as UTF-8) and parsed
with ansible.parsing.yaml.loader.AnsibleLoader, document by document, as
`yaml.load_all` would. With --from-yaml, it goes through
ansible.parsing.utils.yaml.from_yaml instead, as the DataLoader does: JSON first, then
one YAML document at most (no document for None). The result is one JSON object per
file:

    {"documents": [VALUE, ...], "warnings": [TEXT, ...]}
    {"error": {"type": NAME, "message": TEXT, "line": N, "column": N}}

Every VALUE is an array whose first element names the Python type, so `1`, `1.0` and
`"1"` stay apart:

    ["null"]  ["bool", true]  ["int", "123"]  ["float", "1.5"]
    ["str", TEXT, LINE, COLUMN]        an AnsibleUnicode with its ansible_pos
    ["unsafe", TEXT]                   AnsibleUnsafeText (`!unsafe`)
    ["vault", CIPHERTEXT, LINE, COLUMN]
    ["seq", [VALUE, ...], LINE, COLUMN]
    ["map", [[KEY, VALUE], ...], LINE, COLUMN]
    ["timestamp", str(date or datetime)]
    ["binary", TEXT decoded as UTF-8 with replacement]
    ["set", [VALUE, ...]]  ["tuple", [VALUE, ...]]  ["recursive"]

Integers are written as decimal text and floats as Python's repr, so nothing is lost to
JSON numbers. LINE and COLUMN are null for objects Ansible built without a position
(copies made by `!unsafe`). Warnings are the texts Ansible passes to Display.warning,
unwrapped.

With --out-dir, the JSON for FILE goes to DIR/<FILE stem>.expected.json instead of
standard output, one file each; otherwise each result is printed on one line, prefixed
by the path and a tab.
"""

import datetime
import json
import os
import sys

from ansible.parsing.yaml import constructor as ansible_constructor
from ansible.parsing.yaml.loader import AnsibleLoader
from ansible.parsing.utils.yaml import from_yaml
from ansible.parsing.yaml.objects import AnsibleVaultEncryptedUnicode
from ansible.utils.unsafe_proxy import AnsibleUnsafeText

WARNINGS = []


def record_warning(message, *args, **kwargs):
    WARNINGS.append(message)


ansible_constructor.display.warning = record_warning


def position(value):
    # Objects built without a position report line 0 (AnsibleBaseYAMLObject's default).
    pos = getattr(value, "ansible_pos", None)
    if pos is None or pos[1] == 0:
        return [None, None]
    return [pos[1], pos[2]]


def encode(value, active):
    """Encode a loaded value; `active` holds the ids of the containers being encoded."""
    if id(value) in active:
        return ["recursive"]

    if value is None:
        return ["null"]
    if isinstance(value, bool):
        return ["bool", value]
    if isinstance(value, int):
        return ["int", str(value)]
    if isinstance(value, float):
        return ["float", repr(value)]
    if isinstance(value, AnsibleUnsafeText):
        return ["unsafe", str(value)]
    if isinstance(value, AnsibleVaultEncryptedUnicode):
        return ["vault", value._ciphertext.decode()] + position(value)
    if isinstance(value, str):
        return ["str", str(value)] + position(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return ["timestamp", str(value)]
    if isinstance(value, bytes):
        return ["binary", value.decode("utf-8", "replace")]

    active = active | {id(value)}
    if isinstance(value, tuple):
        return ["tuple", [encode(item, active) for item in value]]
    if isinstance(value, (set, frozenset)):
        items = [encode(item, active) for item in value]
        items.sort(key=lambda item: json.dumps(item))
        return ["set", items]
    if isinstance(value, list):
        return ["seq", [encode(item, active) for item in value]] + position(value)
    if isinstance(value, dict):
        entries = [[encode(k, active), encode(v, active)] for k, v in value.items()]
        return ["map", entries] + position(value)
    raise TypeError("no encoding for %s" % type(value).__name__)


def error_result(exc):
    mark = getattr(exc, "problem_mark", None)
    return {
        "error": {
            "type": type(exc).__name__,
            "message": str(exc),
            "line": mark.line + 1 if mark is not None else None,
            "column": mark.column + 1 if mark is not None else None,
        }
    }


def load(path, from_yaml_mode):
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return error_result(exc)
    del WARNINGS[:]
    if from_yaml_mode:
        try:
            value = from_yaml(text, file_name=path)
        except Exception as exc:
            return error_result(exc)
        documents = [] if value is None else [encode(value, frozenset())]
        return {"documents": documents, "warnings": list(WARNINGS)}
    loader = AnsibleLoader(text, path)
    documents = []
    try:
        while loader.check_data():
            documents.append(encode(loader.get_data(), frozenset()))
    except Exception as exc:  # the loader raises ValueError, KeyError and more, not only YAMLError
        return error_result(exc)
    finally:
        loader.dispose()
    return {"documents": documents, "warnings": list(WARNINGS)}


def main(argv):
    from_yaml_mode = argv[:1] == ["--from-yaml"]
    if from_yaml_mode:
        argv = argv[1:]
    out_dir = None
    if argv[:1] == ["--out-dir"]:
        out_dir = argv[1]
        argv = argv[2:]
    for path in argv:
        result = load(path, from_yaml_mode)
        if out_dir is None:
            sys.stdout.write("%s\t%s\n" % (path, json.dumps(result, ensure_ascii=False)))
            continue
        stem = os.path.basename(path).rsplit(".", 1)[0]
        with open(os.path.join(out_dir, stem + ".expected.json"), "w", encoding="utf-8") as out:
            out.write(json.dumps(result, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
