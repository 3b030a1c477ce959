"""Golden cases on lab hosts: shared code of `record` and `check`.

A case is a directory fixtures/lab/CASE/ with `playbook.yml`, the files it uses and
`case.yml`. Its golden run lives in fixtures/lab/CASE/golden/ and is written only by
`record`, never by hand.

What legitimately varies between two runs on fresh hosts, and is normalised before results
and snapshots are stored or compared:
- in results, the values of `start`, `end` and `delta` (command timings) become `<time>`;
- in results, an `exception` that is a Python traceback keeps only its last line (the
  frames name the module's temporary payload directory, which is random);
- in results, apt's `cache_update_time` becomes `<varies>` (the lab touches the cache's
  update stamp at every boot);
- in results, stat's `atime`, `mtime`, `ctime`, `dev` and `inode` become `<varies>` (every
  host's root is a new overlay, so device and inode numbers change from run to run);
- in results, `_original_basename` in the `module_args` of a loop item's invocation, when
  it is the random name of the controller's temporary file for copy's `content`
  (`.` and 8 characters), becomes `<tmpname>`;
- in results, any string with Ansible's remote temporary directory
  (`.ansible/tmp/ansible-tmp-<time>-<pid>-<random>`) gets `ansible-tmp-<id>` there, and
  any with the controller's (`ansible-local-<pid><random>/tmp<random>`, the rendered
  file of template's diff header) gets `ansible-local-<id>/tmp<id>`, and a module's
  temporary file there (`ansible-tmp-<id>/tmp<random>`, get_url's download) gets
  `ansible-tmp-<id>/tmp<id>`;
- in results, the 8 random characters in the name of a package file that apt's `deb`
  downloaded (`Preparing to unpack .../NAME<random>.deb ...`, as dpkg prints it) become
  `<random>`;
- in results, the `status` mapping of systemd_service: timestamps, PIDs, invocation ids,
  resource counters, the process and signal limits the kernel sizes after the machine's
  memory, and the `{ ... pid=N ... }` details of `Exec*` become `<varies>`, and
  lists of units (`Requires`, `After`, ...), which systemd prints in no fixed order, are
  sorted;
- in snapshots, no times are recorded at all, and directories have no size (a directory's
  size depends on the filesystem's history, not on what it contains);
- in results, async job ids (`j<random>.<pid>`, also in `results_file` and `erased`)
  become `j<id>`, the `child_pid` of a job its watcher killed becomes `<pid>`, and the
  `frame` under `timedout` (a Python stack frame of the controller, with its address
  and install paths) becomes `<frame>`;
- in results, the path of the lab script, which a case that crashes a host runs, becomes
  `$RPLAY_LAB_COMMAND`;
- in the log and results, the case's own directory becomes `$CASE_DIR`, and the lab's
  state dir (`/tmp/rplay-lab-N`, where the hosts' SSH key is) becomes `$LAB_DIR`;
- in logs, results and snapshots, the addresses of lab instance N (`10.253.N.x`) become
  instance 0's (`10.253.0.x`), so a case recorded on one instance checks on another.
Logs are compared by `rplay compare`, which has its own normalisation (host order within a
task, timings, temporary paths).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CASES_DIR = ROOT / "fixtures" / "lab"
LAB = HERE / "lab"
CALLBACK_DIR = HERE / "callback_plugins"

# Files of fixtures/lab/CASE/golden/.
LOG = "log.txt"
EXIT_CODE = "exit-code.txt"
RESULTS = "results.json"
SNAPSHOT = "snapshot.json"
RECORDED_WITH = "recorded-with.txt"

# Regular files up to this size whose bytes are UTF-8 text get their content in a snapshot.
MAX_CONTENT_BYTES = 4096


class CaseError(Exception):
    """A case directory or its case.yml is invalid."""


class LabError(Exception):
    """The lab could not bring hosts up or down."""


@dataclass
class Case:
    name: str
    dir: Path
    hosts: int = 1
    image: str = "python"
    paths: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)

    @property
    def golden(self) -> Path:
        return self.dir / "golden"


def load_case(name: str) -> Case:
    """Read fixtures/lab/NAME/case.yml: flat `key: value` lines, `#` comments.

    Keys: hosts (a number, default 1), image (python or no-python, default python),
    paths (space-separated absolute paths to snapshot on each host), args (extra
    ansible-playbook arguments, split as a shell would).
    """
    case_dir = CASES_DIR / name
    case = Case(name=name, dir=case_dir)
    config = case_dir / "case.yml"
    if not (case_dir / "playbook.yml").is_file():
        raise CaseError(f"{case_dir}: playbook.yml not found")
    if not config.is_file():
        raise CaseError(f"{config}: not found")
    for number, line in enumerate(config.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        value = value.strip()
        if not sep:
            raise CaseError(f"{config}:{number}: expected 'key: value', got {line!r}")
        if key == "hosts":
            if not value.isdigit() or int(value) < 1:
                raise CaseError(f"{config}:{number}: hosts must be a number from 1, got {value!r}")
            case.hosts = int(value)
        elif key == "image":
            if value not in ("python", "no-python"):
                raise CaseError(f"{config}:{number}: image must be python or no-python, got {value!r}")
            case.image = value
        elif key == "paths":
            case.paths = value.split()
        elif key == "args":
            case.args = shlex.split(value)
        else:
            raise CaseError(f"{config}:{number}: unknown key {key!r} (expected hosts, image, paths or args)")
    for path in case.paths:
        if not path.startswith("/"):
            raise CaseError(f"{config}: snapshot path {path!r} is not absolute")
    return case


def all_case_names() -> list[str]:
    return sorted(p.name for p in CASES_DIR.iterdir() if (p / "case.yml").is_file())


# ---------------------------------------------------------------- lab

def lab_dir() -> Path:
    """Return the state dir of the lab instance in RPLAY_LAB_INSTANCE, as `lab` computes it."""
    if os.environ.get("RPLAY_LAB_DIR"):
        return Path(os.environ["RPLAY_LAB_DIR"])
    instance = os.environ.get("RPLAY_LAB_INSTANCE", "0")
    return Path("/tmp/rplay-lab" if instance == "0" else f"/tmp/rplay-lab-{instance}")


def run_lab(*args: str) -> None:
    proc = subprocess.run([str(LAB), *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise LabError(f"lab {' '.join(args)} failed (exit {proc.returncode}):\n{proc.stdout.rstrip()}")


def fresh_hosts(case: Case) -> None:
    """Take every host of the lab down, then boot the case's hosts fresh."""
    run_lab("down")
    run_lab("up", str(case.hosts), *(["--no-python"] if case.image == "no-python" else []))


# ---------------------------------------------------------------- running a case

@dataclass
class Run:
    exit_code: int
    log: str
    results: object
    snapshot: dict
    command: str


def engine_command(engine: str, case: Case, binary: str, inventory: Path) -> list[str]:
    return [binary, "-i", str(inventory), "playbook.yml", *case.args]


def engine_env(results_path: Path, control_dir: Path) -> dict[str, str]:
    """The environment of a run: the caller's without any ANSIBLE_* or RPLAY_RESULTS_PATH,
    plus colour off and the results callback enabled."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_") and k != "RPLAY_RESULTS_PATH"}
    env.update({
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACK_DIR),
        "ANSIBLE_CALLBACKS_ENABLED": "rplay_results",
        "RPLAY_RESULTS_PATH": str(results_path),
        # A private dir for the SSH masters of ControlPersist, closed after the run.
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(control_dir),
        # For cases that act on the lab itself, such as crashing a host mid-run.
        "RPLAY_LAB_COMMAND": str(LAB),
    })
    return env


def shown_command(command: list[str], env: dict[str, str]) -> str:
    """Return the command as a shell line, with the machine-specific paths replaced."""
    shown_env = [f"{k}={env[k]}" for k in ("ANSIBLE_NOCOLOR", "ANSIBLE_CALLBACK_PLUGINS", "ANSIBLE_CALLBACKS_ENABLED", "RPLAY_RESULTS_PATH")]
    text = " ".join(shlex.quote(part) for part in shown_env + ["ansible-playbook" if "ansible" in Path(command[0]).name else "rplay", *command[1:]])
    text = text.replace(str(lab_dir()), "$LAB_DIR").replace(str(CALLBACK_DIR), "compat-tests/lab/callback_plugins")
    return re.sub(r"RPLAY_RESULTS_PATH=\S+", "RPLAY_RESULTS_PATH=$OUT/results.json", text)


def close_ssh_masters(control_dir: Path) -> None:
    for socket in control_dir.iterdir():
        subprocess.run(["ssh", "-o", f"ControlPath={socket}", "-O", "exit", "lab-host"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_case(case: Case, engine: str, binary: str, work: Path) -> Run:
    """Boot fresh hosts, run the case with BINARY and collect what it did."""
    fresh_hosts(case)
    work.mkdir(parents=True, exist_ok=True)
    results_path = work / "raw-results.json"
    results_path.unlink(missing_ok=True)
    control_dir = Path(tempfile.mkdtemp(prefix="rplay-golden-ssh-"))
    try:
        command = engine_command(engine, case, binary, lab_dir() / "inventory.ini")
        env = engine_env(results_path, control_dir)
        proc = subprocess.run(command, cwd=case.dir, env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    finally:
        close_ssh_masters(control_dir)
        shutil.rmtree(control_dir, ignore_errors=True)
    results = None
    # The case's files are found in this checkout, whose path varies.
    case_dir = str(case.dir.resolve())
    if results_path.exists():
        # A case that acts on the lab runs this checkout's lab script, whose path varies.
        text = results_path.read_text().replace(json.dumps(str(LAB))[1:-1], "$RPLAY_LAB_COMMAND")
        text = text.replace(json.dumps(case_dir)[1:-1], "$CASE_DIR")
        text = text.replace(json.dumps(str(lab_dir()))[1:-1], "$LAB_DIR")
        results = canonical_addresses(normalise_results(json.loads(text)))
    log = proc.stdout.decode("utf-8", errors="replace").replace(case_dir, "$CASE_DIR")
    log = log.replace(str(lab_dir()), "$LAB_DIR")
    return Run(
        exit_code=proc.returncode,
        log=canonical_addresses(log),
        results=results,
        snapshot=canonical_addresses(snapshot(case)),
        command=shown_command(command, env),
    )


def canonical_addresses(value: object) -> object:
    """Rewrite the lab instance's addresses (10.253.N.x) as instance 0's (10.253.0.x)."""
    instance = os.environ.get("RPLAY_LAB_INSTANCE", "0")
    if instance == "0" or "RPLAY_LAB_NET" in os.environ:
        return value
    pattern = re.compile(rf"\b10\.253\.{instance}\.(\d+)\b")
    if isinstance(value, str):
        return pattern.sub(r"10.253.0.\1", value)
    if isinstance(value, list):
        return [canonical_addresses(item) for item in value]
    if isinstance(value, dict):
        return {canonical_addresses(key): canonical_addresses(item) for key, item in value.items()}
    return value


def write_run(run: Run, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / LOG).write_text(run.log)
    (out / EXIT_CODE).write_text(f"{run.exit_code}\n")
    (out / RESULTS).write_text(dump_json(run.results))
    (out / SNAPSHOT).write_text(dump_json(run.snapshot))


def dump_json(value: object) -> str:
    return json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------- snapshots

# Runs on a host under bash (no Python there on the no-python image). For each path: one
# `E` line per file found, then `H` (sha256) and `C` (base64 content) lines for regular
# files, or `A` when the path does not exist.
SNAPSHOT_SCRIPT = r"""
max=$1; shift
for p in "$@"; do
  if [ ! -e "$p" ] && [ ! -L "$p" ]; then printf 'A\t%s\n' "$p"; continue; fi
  find "$p" -printf 'E\t%y\t%m\t%u\t%g\t%s\t%l\t%p\n'
  find "$p" -type f -print0 | while IFS= read -r -d '' f; do
    printf 'H\t%s\t%s\n' "$(sha256sum <"$f" | cut -d' ' -f1)" "$f"
    printf 'C\t%s\t%s\n' "$(head -c $((max + 1)) "$f" | base64 -w0)" "$f"
  done
done
"""

TYPES = {"f": "file", "d": "directory", "l": "link", "p": "fifo", "s": "socket", "c": "char", "b": "block"}


def snapshot(case: Case) -> dict:
    """Map host -> path -> entry, for every file under the case's paths on every host."""
    hosts = {}
    if not case.paths:
        return hosts
    ssh_config = lab_dir() / "ssh_config"
    for index in range(1, case.hosts + 1):
        host = f"test-{index}"
        root = lab_dir() / "run" / host / "root"
        # The remote shell splits the command line again.
        proc = subprocess.run(
            ["ssh", "-F", str(ssh_config), host, "bash", "-s", "--", str(MAX_CONTENT_BYTES),
             *[shlex.quote(p) for p in case.paths]],
            input=SNAPSHOT_SCRIPT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if proc.returncode == 255 and root.is_dir():
            # A host the case crashed (`lab kill`) has no sshd left; its files are
            # still mounted on the controller.
            proc = subprocess.run(
                ["chroot", str(root), "bash", "-s", "--", str(MAX_CONTENT_BYTES), *case.paths],
                input=SNAPSHOT_SCRIPT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            raise LabError(f"snapshot of {host} failed (exit {proc.returncode}): {proc.stderr.strip()}")
        hosts[host] = parse_snapshot(proc.stdout)
    return hosts


def parse_snapshot(text: str) -> dict:
    entries: dict[str, dict] = {}
    for line in text.splitlines():
        kind, _, rest = line.partition("\t")
        if kind == "A":
            entries[rest] = {"type": "absent"}
        elif kind == "E":
            kind_letter, mode, owner, group, size, target, path = rest.split("\t", 6)
            entry = {"type": TYPES.get(kind_letter, kind_letter), "mode": mode.zfill(4),
                     "owner": owner, "group": group}
            if kind_letter == "l":
                entry["target"] = target
            elif kind_letter != "d":
                entry["size"] = int(size)
            entries[path] = entry
        elif kind == "H":
            digest, path = rest.split("\t", 1)
            entries[path]["sha256"] = digest
        elif kind == "C":
            encoded, path = rest.split("\t", 1)
            data = base64.b64decode(encoded)
            if len(data) <= MAX_CONTENT_BYTES and b"\0" not in data:
                try:
                    entries[path]["content"] = data.decode("utf-8")
                except UnicodeDecodeError:
                    pass
    return dict(sorted(entries.items()))


# ---------------------------------------------------------------- normalising results

TIME_KEYS = {"start", "end", "delta"}
STAT_VARYING_KEYS = {"atime", "mtime", "ctime", "dev", "inode"}
TMP_BASENAME = re.compile(r"^\.[a-z0-9_]{8}$")
ANSIBLE_TMP = re.compile(r"ansible-tmp-[0-9.]+-\d+-\d+")
ASYNC_JID = re.compile(r"\bj\d+\.\d+\b")
ANSIBLE_LOCAL_TMP = re.compile(r"ansible-local-\d+[a-z0-9_]{8}/tmp[a-z0-9_]{8}")
# A module's `mkstemp` file in its temporary directory (get_url's download).
ANSIBLE_TMP_FILE = re.compile(r"ansible-tmp-<id>/tmp[a-z0-9_]{8}\b")
# dpkg's line for a package file that apt's `deb` downloaded: ansible-core's `fetch_file`
# names it after the URL with 8 random characters before the extension.
FETCHED_DEB = re.compile(r"(Preparing to unpack \.\.\./\S*?)[a-z0-9_]{8}(\.deb \.\.\.)")
# Keys of systemd_service's `status` whose values depend on when and where the unit ran.
SYSTEMD_VARYING = re.compile(
    r"(Timestamp|TimestampMonotonic|PID|InvocationID|^Memory(Current|Peak|Available|SwapCurrent|SwapPeak|ZSwapCurrent)$"
    r"|^CPUUsageNSec$|^TasksCurrent$|^IP(Ingress|Egress)|^IO(Read|Write)|^ControlGroupId$|^NRestarts$"
    r"|^StateChangeTimestamp|^ActiveEnterTimestamp|^ExecMainCode$|^ExecMainStatus$"
    # Limits the kernel sizes after the machine's memory (threads-max).
    r"|^Limit(NPROC|SIGPENDING)(Soft)?$|^TasksMax$)")
UNIT_NAME = re.compile(r"^[\w@:.\\-]+\.(service|target|slice|socket|mount|path|timer|device|swap|scope|automount)$")
EXEC_DETAILS = re.compile(r"start_time=\[[^\]]*\]|stop_time=\[[^\]]*\]|pid=\d+|code=\(null\)|status=\d+/\d+")


def normalise_results(value: object, key: str | None = None, parent: str | None = None) -> object:
    """Apply the normalisations listed in this module's docstring, recursively."""
    if isinstance(value, dict):
        return {k: normalise_systemd_status(v) if k == "status" and isinstance(v, dict) and "ActiveState" in v
                else normalise_results(v, k, key) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise_results(v, key, parent) for v in value]
    if parent == "stat" and key in STAT_VARYING_KEYS:
        return "<varies>"
    if key == "cache_update_time" and isinstance(value, int):
        return "<varies>"
    if key == "child_pid" and isinstance(value, int):
        return "<pid>"
    if key == "frame" and parent == "timedout" and isinstance(value, str):
        return "<frame>"
    if key == "exception" and isinstance(value, str) and value.startswith("Traceback"):
        # The last line can name a temporary path too, which the rules below normalise.
        lines = value.strip().splitlines()
        value = lines[-1] if lines else value
    if isinstance(value, str):
        if key == "_original_basename" and parent == "module_args" and TMP_BASENAME.match(value):
            return "<tmpname>"
        if key in TIME_KEYS:
            return "<time>"
        value = ANSIBLE_LOCAL_TMP.sub("ansible-local-<id>/tmp<id>", value)
        value = ANSIBLE_TMP.sub("ansible-tmp-<id>", value)
        value = ASYNC_JID.sub("j<id>", value)
        value = FETCHED_DEB.sub(r"\1<random>\2", value)
        return ANSIBLE_TMP_FILE.sub("ansible-tmp-<id>/tmp<id>", value)
    return value


def normalise_systemd_status(status: dict) -> dict:
    out = {}
    for k, v in status.items():
        if SYSTEMD_VARYING.search(k):
            out[k] = "<varies>"
        elif k.startswith("Exec") and isinstance(v, str):
            out[k] = EXEC_DETAILS.sub("<varies>", v)
        elif isinstance(v, str) and v.split() and all(UNIT_NAME.match(word) for word in v.split()):
            out[k] = " ".join(sorted(v.split()))
        else:
            out[k] = v
    return out


# ---------------------------------------------------------------- comparing

def first_difference(a: object, b: object, path: str = "") -> str | None:
    """Describe the first place where A (golden) and B (new) differ, or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in b:
                return f"{path}/{k}: missing in new run (golden: {short(a[k])})"
            if k not in a:
                return f"{path}/{k}: not in golden (new: {short(b[k])})"
            diff = first_difference(a[k], b[k], f"{path}/{k}")
            if diff:
                return diff
        return None
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            diff = first_difference(x, y, f"{path}[{i}]")
            if diff:
                return diff
        if len(a) != len(b):
            return f"{path}: {len(a)} entries in golden, {len(b)} in new run"
        return None
    if a != b or type(a) is not type(b):
        return f"{path or '/'}: golden {short(a)}, new {short(b)}"
    return None


def short(value: object, limit: int = 120) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def results_difference(golden: object, new: object) -> str | None:
    """First difference of two results files, naming the host, task and entry."""
    if not (isinstance(golden, dict) and isinstance(new, dict)):
        return first_difference(golden, new)
    golden_hosts, new_hosts = golden.get("hosts", {}), new.get("hosts", {})
    for host in sorted(set(golden_hosts) | set(new_hosts)):
        a, b = golden_hosts.get(host, []), new_hosts.get(host, [])
        for i, (x, y) in enumerate(zip(a, b)):
            diff = first_difference(x, y)
            if diff:
                return f"{host} entry {i} (task {x.get('task')!r}): {diff}"
        if len(a) != len(b):
            extra = (a if len(a) > len(b) else b)[min(len(a), len(b))]
            return (f"{host}: {len(a)} results in golden, {len(b)} in new run; "
                    f"first unmatched: task {extra.get('task')!r}")
    return None


def log_difference(rplay: str, golden: Path, new: Path) -> str | None:
    proc = subprocess.run([rplay, "compare", str(golden), str(new)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if proc.returncode == 0:
        return None
    # The output starts with `A: PATH` and `B: PATH` lines, then one line per difference.
    lines = [line for line in proc.stdout.splitlines() if line.strip() and not line.startswith(("A: ", "B: "))]
    return lines[0] if lines else f"rplay compare exited {proc.returncode}"


def die(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def run_lab_quietly(*args: str) -> None:
    """Run a lab command for cleanup, reporting a failure without raising."""
    try:
        run_lab(*args)
    except LabError as err:
        print(f"warning: {err}", file=sys.stderr)


def json_file(path: Path) -> object:
    return json.loads(path.read_text())
