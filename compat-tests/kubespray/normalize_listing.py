"""Normalise ansible-playbook listing output for comparison.

ansible-playbook prints two Python sets in listings, whose order changes from run to run:
the host lines under `hosts (N):` and the play tags in `TAGS: [a,b]`. Both are sorted here;
every other line is kept as it is.
"""
import re
import sys

lines = sys.stdin.read().split("\n")
out = []
hosts = []


def flush():
    out.extend(sorted(hosts))
    hosts.clear()


in_hosts = False
for line in lines:
    if in_hosts and line.startswith("      "):
        hosts.append(line)
        continue
    if in_hosts:
        flush()
        in_hosts = False
    match = re.match(r"^(  play #\d+ \(.*\): .*\tTAGS: \[)(.*)\]$", line)
    if match:
        tags = ",".join(sorted(t for t in match.group(2).split(",") if t))
        line = f"{match.group(1)}{tags}]"
    out.append(line)
    if re.match(r"^    hosts \(\d+\):$", line):
        in_hosts = True
flush()
sys.stdout.write("\n".join(out))
