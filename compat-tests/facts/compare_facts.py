"""Compare the facts of `ansible -m setup --tree` with those of rplay's results file.

Only what changes between two gatherings on the same host is normalised: the clock
(`date_time`, `uptime_seconds`), free memory and load, the SSH session's variables in
`env`, the free space of mounts, and the order of lists Ansible builds from sets.
"""

from __future__ import annotations

import json
import os
import sys

VOLATILE = {"ansible_date_time", "ansible_uptime_seconds", "ansible_memfree_mb", "ansible_loadavg"}
SESSION_ENV = {"SSH_CLIENT", "SSH_CONNECTION", "SSH_TTY", "XDG_SESSION_ID"}
MOUNT_USAGE = {"block_available", "block_used", "size_available", "inode_available", "inode_used"}
UNORDERED = {"ansible_virtualization_tech_guest", "ansible_virtualization_tech_host", "ansible_interfaces"}


def normalise(key: str, value: object) -> object:
    if key in VOLATILE:
        return "<varies>"
    if key == "ansible_memory_mb" and isinstance(value, dict):
        return {part: ({k: "<varies>" for k in v} if part in ("real", "nocache") else v)
                for part, v in value.items()}
    if key == "ansible_env" and isinstance(value, dict):
        return {k: "<varies>" if k in SESSION_ENV else v for k, v in value.items()}
    if key == "ansible_mounts" and isinstance(value, list):
        mounts = [{k: "<varies>" if k in MOUNT_USAGE else v for k, v in m.items()} for m in value]
        return sorted(mounts, key=lambda m: m.get("mount", ""))
    if key in UNORDERED and isinstance(value, list):
        return sorted(value)
    return value


def rplay_facts(path: str) -> dict:
    results = json.load(open(path))
    for entries in results.get("hosts", {}).values():
        for entry in entries:
            facts = entry.get("result", entry).get("ansible_facts")
            if facts:
                return facts
    raise SystemExit(f"no ansible_facts in {path}")


def short(value: object, limit: int = int(os.environ.get("FACTS_DIFF_WIDTH", "160"))) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def main() -> None:
    ansible = json.load(open(sys.argv[1]))["ansible_facts"]
    rplay = rplay_facts(sys.argv[2])
    equal, different = [], []
    missing = sorted(set(ansible) - set(rplay))
    extra = sorted(set(rplay) - set(ansible))
    for key in sorted(set(ansible) & set(rplay)):
        a, b = normalise(key, ansible[key]), normalise(key, rplay[key])
        (equal if a == b else different).append(key)
    for key in missing:
        print(f"missing    {key}: {short(ansible[key])}")
    for key in extra:
        print(f"extra      {key}: {short(rplay[key])}")
    for key in different:
        print(f"different  {key}:\n  ansible {short(normalise(key, ansible[key]))}\n"
              f"  rplay   {short(normalise(key, rplay[key]))}")
    print(f"facts: {len(ansible)} from ansible, {len(rplay)} from rplay; equal {len(equal)}, "
          f"different {len(different)}, missing {len(missing)}, extra {len(extra)}")


if __name__ == "__main__":
    main()
