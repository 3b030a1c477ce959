"""Normalise an ansible-playbook (or rplay) log for comparison.

What legitimately varies between two runs is rewritten or reordered:
- profile_tasks timestamp lines become `<profile_tasks timestamp>`;
- the profile_tasks summary table becomes its row count, because which tasks make its
  top rows depends on timing;
- result lines of one task (`ok: [host]...` and the lines of their result dumps) are
  sorted by host, because Ansible prints hosts in the order they finish;
- `"delta"`, `"start"` and `"end"` values in result dumps become `<time>`;
- the version banner that `-vv` prints (`ansible-playbook [core ...]` and its indented
  lines) becomes `<version banner>`;
- the hosts of an `included: FILE for h1, h2` line are sorted.
Everything else is kept as it is.
"""
import re
import sys

TIMESTAMP = re.compile(r"^\w+day \d\d \w+ \d{4}  \d\d:\d\d:\d\d [+-]\d{4} \(\d+:\d\d:\d\d\.\d{3}\)\s+\d+:\d\d:\d\d\.\d{3} \*+ $")
SUMMARY_ROW = re.compile(r"^(.*?) -+ \d+\.\d\ds$")
RESULT_START = re.compile(r"^(ok|changed|skipping|fatal|failed|included|\.\.\.ignoring|FAILED - RETRYING)[:\s]")
TIMES = re.compile(r'"(delta|start|end)": "[^"]*"')
INCLUDED = re.compile(r"^(included: .* for )([^=]*?)( => \(item=.*\))?$")


def sort_included_hosts(line):
    match = INCLUDED.match(line)
    if not match:
        return line
    hosts = ", ".join(sorted(match.group(2).split(", ")))
    return f"{match.group(1)}{hosts}{match.group(3) or ''}"


def normalize(lines):
    out = []
    block = []  # result entries of the current task: lists of lines
    summary = []
    in_summary = False
    in_banner = False

    def flush_block():
        out.extend(line for entry in sorted(block, key=lambda e: e[0]) for line in entry)
        block.clear()

    for line in lines:
        line = TIMES.sub(lambda m: f'"{m.group(1)}": "<time>"', line)
        line = sort_included_hosts(line)
        if line.startswith("ansible-playbook [core "):
            flush_block()
            out.append("<version banner>")
            in_banner = True
            continue
        if in_banner and line.startswith("  "):
            continue
        in_banner = False
        if TIMESTAMP.match(line):
            flush_block()
            out.append("<profile_tasks timestamp>")
            continue
        if line.startswith("=" * 79):
            flush_block()
            out.append(line)
            in_summary = True
            continue
        if in_summary:
            match = SUMMARY_ROW.match(line)
            if match:
                summary.append(match.group(1))
                continue
            in_summary = False
            out.append(f"<profile_tasks summary: {len(summary)} rows>")
            summary.clear()
        if RESULT_START.match(line) and not line.startswith("...ignoring"):
            block.append([line])
            continue
        if block and (line.startswith((" ", "}", "...ignoring")) or line == "{"):
            block[-1].append(line)
            continue
        flush_block()
        out.append(line)
    flush_block()
    if in_summary:
        out.append(f"<profile_tasks summary: {len(summary)} rows>")
    return out


if __name__ == "__main__":
    text = sys.stdin.read().split("\n")
    sys.stdout.write("\n".join(normalize(text)))
