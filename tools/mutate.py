#!/usr/bin/python3
"""mutate.py: mutation testing of src/ against the project's tests (run through tools/mutate.sh).

Each mutant of the list (tools/mutants.txt) is one plausible one-line bug: in FILE, the exact
text FROM (a whole line or a substring of one; it must occur exactly once in the file) becomes
TO. Mutants are applied one at a time to scratch copies of a revision (`git archive`, never the
working tree), each copy with its own build directory; the test command runs there and decides:

  KILLED       the test command failed: some test caught the bug
  SURVIVED     the test command passed: no test noticed
  STALE        FROM is not in FILE, or not once (the list no longer matches the sources)
  BUILD-ERROR  the mutated sources do not compile (not a plausible bug: fix the list)
  TIMEOUT      build and tests took longer than --timeout (reported apart, not as killed)

The kill rate is KILLED over every mutant run. Matching by text, not line numbers, keeps the
list valid across unrelated edits; a STALE mutant says where it no longer does.

List format: entries separated by blank lines, one `key: value` per line, `#` starts a comment
line. Keys: id (unique, [a-z0-9.-]), file (under the repository), from, to (may be empty: the
text is deleted), why (one line: the bug it stands for). Leading and trailing blanks of values
are dropped.
"""
import argparse
import fnmatch
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

KEYS = ("id", "file", "from", "to", "why")


# --quick: the test binaries of `make test-run`, the slow ones last, each built just before it
# runs, stopping at the first failure. `make test` fails iff one of them fails, so the verdict is the same; a killed mutant
# costs less. (The figures of bench/RESULTS.md come from `make test` itself.)
SLOW_LAST = ("test_game", "test_tabular", "test_train_cli", "test_install", "test_replay", "test_figures",
             "test_mpi", "test_learning")
# The tests nearest the mutated file run first ($MUTATE_FIRST, from first_tests): the one that
# kills a mutant is usually among them, and the others need not be built before it.
QUICK_CMD = r"""set -e
bins=$(ls tests/test_*.c | sed 's|^tests/\(.*\)\.c$|\1|')
rest=$(for b in $bins; do case " %s " in *" $b "*) ;; *) echo $b ;; esac; done; for b in %s; do echo $b; done)
order=$(for b in $MUTATE_FIRST; do [ -f tests/$b.c ] && echo $b; done; for b in $rest; do case " $MUTATE_FIRST " in *" $b "*) ;; *) echo $b ;; esac; done)
make -s bin/stackelberg
for b in $order; do
  make -s build/release/tests/$b
  echo "== build/release/tests/$b"
  SB_BIN=$PWD/bin/stackelberg OPENBLAS_NUM_THREADS=1 build/release/tests/$b --jobs 2
done
echo "all test binaries passed"
""" % (" ".join(SLOW_LAST), " ".join(SLOW_LAST))


class Mutant:
    def __init__(self, fields, line):
        self.id = fields["id"]
        self.file = fields["file"]
        self.old = fields["from"]
        self.new = fields["to"]
        self.why = fields["why"]
        self.line = line  # line of the list where the entry starts


def parse_list(path):
    """The mutants of `path`, in order; exits 2 naming path:line on a malformed entry."""
    mutants, fields, start = [], {}, 0
    ids = set()

    def finish(end_line):
        if not fields:
            return
        missing = [k for k in KEYS if k not in fields]
        if missing:
            die(f"{path}:{start}: mutant entry lacks {', '.join(missing)}")
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*", fields["id"]):
            die(f"{path}:{start}: id {fields['id']!r}: use lower-case letters, digits, '.' and '-'")
        if fields["id"] in ids:
            die(f"{path}:{start}: id {fields['id']} appears twice")
        if not fields["from"]:
            die(f"{path}:{start}: {fields['id']}: from is empty")
        if fields["from"] == fields["to"]:
            die(f"{path}:{start}: {fields['id']}: from and to are the same")
        ids.add(fields["id"])
        mutants.append(Mutant(dict(fields), start))
        fields.clear()

    with open(path, encoding="utf-8") as f:
        for k, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if line.lstrip().startswith("#"):
                continue
            if not line.strip():
                finish(k)
                continue
            m = re.match(r"([a-z]+):(.*)$", line)
            if not m or m.group(1) not in KEYS:
                die(f"{path}:{k}: expected one of {', '.join(k + ':' for k in KEYS)}")
            if not fields:
                start = k
            if m.group(1) in fields:
                die(f"{path}:{k}: {m.group(1)} given twice in one entry")
            fields[m.group(1)] = m.group(2).strip()
    finish(None)
    return mutants


# Test binaries that exercise each directory of src/ most directly (besides test_<file>).
NEAR_TESTS = {
    "nn": ("test_nn",),
    "rl": ("test_dist", "test_ppo", "test_normalize", "test_envs"),
    "grid": ("test_market", "test_game_envs", "test_fleet", "test_dispatch", "test_matpower", "test_households"),
    "game": ("test_game_envs", "test_world", "test_checkpoint", "test_tabular", "test_meanfield", "test_replay", "test_game"),
    "config": ("test_game_config", "test_config_errors"),
    "io": ("test_policy", "test_npz"),
    "util": ("test_util",),
    "run": ("test_runner", "test_pool", "test_sweep", "test_rundir"),
}


def first_tests(path):
    """The test binaries to run first for a mutant of `path` (src/DIR/NAME.c): test_NAME, then
    those of DIR. Only the order changes: every binary still runs unless one fails."""
    parts = path.split("/")
    name = os.path.splitext(parts[-1])[0]
    near = NEAR_TESTS.get(parts[1], ()) if len(parts) > 2 else ()
    own = ("test_" + name,)
    if own[0] in SLOW_LAST:  # a slow binary of its own goes after the quicker ones near it
        near, own = near, ()
        near = tuple(n for n in near if n not in SLOW_LAST) + ("test_" + name,) + tuple(n for n in near if n in SLOW_LAST)
    return " ".join(dict.fromkeys(own + near))


def die(msg):
    print(f"mutate: {msg}", file=sys.stderr)
    sys.exit(2)


def clean_env():
    """The environment for builds and tests: no jobserver or variables of a calling make."""
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "SAN", "BUILD", "OPT"):
        env.pop(k, None)
    return env


RUNNING = set()  # process groups of the builds and tests in progress
RUNNING_LOCK = threading.Lock()
STOP = threading.Event()  # a signal arrived: start nothing more


def kill_group(p):
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            return
        try:
            p.wait(timeout=20)
            return
        except subprocess.TimeoutExpired:
            continue


def run(cmd, cwd, log, timeout, extra_env=None):
    """Run `cmd` (a shell command) in its own process group, output appended to `log`.
    Returns its exit status, or None on timeout (the whole group is killed)."""
    with open(log, "ab") as out:
        out.write(f"$ {cmd}\n".encode())
        out.flush()
        with RUNNING_LOCK:
            if STOP.is_set():
                return None
            p = subprocess.Popen(["bash", "-c", cmd], cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                 env=dict(clean_env(), **(extra_env or {})), start_new_session=True)
            RUNNING.add(p)
        try:
            return p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(p)
            out.write(b"\nmutate: timed out, process group killed\n")
            return None
        finally:
            with RUNNING_LOCK:
                RUNNING.discard(p)


def on_signal(sig, frame):
    """SIGINT or SIGTERM: stop the builds and tests in progress (their own process groups), then
    leave through main's cleanup."""
    # No Popen.wait here: the interrupted frame may be inside one, holding the Popen's own lock
    # (a wait from the handler then spins to its timeout), and it may hold RUNNING_LOCK too.
    STOP.set()
    got = RUNNING_LOCK.acquire(timeout=5)
    procs = list(RUNNING)
    if got:
        RUNNING_LOCK.release()
    for sig_kill in (signal.SIGTERM, signal.SIGKILL):
        for p in procs:
            try:
                os.killpg(p.pid, sig_kill)
            except ProcessLookupError:
                pass
        if sig_kill == signal.SIGTERM:
            time.sleep(2)
    raise SystemExit(128 + sig)


def failing_tests(log):
    """Test binaries whose criterion synthesis reports failures or crashes, in log order."""
    names, current = [], None
    try:
        text = open(log, encoding="utf-8", errors="replace").read()
    except OSError:
        return names
    for line in text.splitlines():
        m = re.match(r"== (\S+)", line)
        if m:
            current = os.path.basename(m.group(1))
            continue
        m = re.search(r"Synthesis: Tested: \d+ \| Passing: \d+ \| Failing: (\d+) \| Crashing: (\d+)", line)
        if m and current and (int(m.group(1)) or int(m.group(2))) and current not in names:
            names.append(current)
    return names


class Slot:
    """A scratch copy of the tree with its own build directory."""

    def __init__(self, path):
        self.path = path


def apply(m, root):
    """The mutated text of m's file under root, or (None, reason) when the list is stale."""
    p = os.path.join(root, m.file)
    try:
        text = open(p, encoding="utf-8").read()
    except OSError as e:
        return None, f"{m.file}: {e.strerror}"
    n = text.count(m.old)
    if n != 1:
        return None, f"{m.file}: 'from' occurs {n} times"
    return (text, text.replace(m.old, m.new, 1)), None


def main():
    ap = argparse.ArgumentParser(
        prog="tools/mutate.sh",
        description="Apply each mutant of a list to a scratch copy of the tree, one at a time, run the tests "
        "there, and report which mutants the tests kill and which survive.",
        epilog="Examples: tools/mutate.sh -j 2 (the whole list, `make test`, two copies at once); "
        "tools/mutate.sh 'game-*' fleet-soc-sign (a subset by id or glob); tools/mutate.sh --check "
        "(does every mutant still apply?).")
    ap.add_argument("ids", nargs="*", help="mutant ids or glob patterns (default: the whole list)")
    ap.add_argument("-l", "--list", default=None, help="the mutant list (default tools/mutants.txt)")
    ap.add_argument("-r", "--rev", default="HEAD", help="the git revision to mutate (default HEAD)")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="mutants at once, each in its own copy (default 1)")
    ap.add_argument("-t", "--test-cmd", default="make test",
                    help="test command, run in the copy's root (default 'make test')")
    ap.add_argument("-q", "--quick", action="store_true",
                    help="instead of the test command: the test binaries, slow ones last, up to the first failure "
                    "(the verdict of `make test-run`, sooner)")
    ap.add_argument("-T", "--timeout", type=float, default=3600.0,
                    help="seconds allowed per mutant for its build and tests (default 3600)")
    ap.add_argument("-o", "--out", default=None,
                    help="directory for results.tsv and one log per mutant (default: a new one under /tmp)")
    ap.add_argument("--check", action="store_true", help="only check that every mutant applies (no build, no tests)")
    ap.add_argument("--build-only", action="store_true", help="build each mutant, run no tests")
    ap.add_argument("--no-baseline", action="store_true", help="do not run the tests on the unmutated copy first")
    ap.add_argument("--keep", action="store_true", help="keep the scratch copies")
    a = ap.parse_args()

    repo = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.abspath(__file__)))
    if repo.returncode:
        die("not inside a git repository")
    repo = repo.stdout.strip()
    lst = a.list or os.path.join(repo, "tools", "mutants.txt")
    mutants = parse_list(lst)
    if a.ids:
        chosen = [m for m in mutants if any(fnmatch.fnmatchcase(m.id, p) for p in a.ids)]
        unknown = [p for p in a.ids if not any(fnmatch.fnmatchcase(m.id, p) for m in mutants)]
        if unknown:
            die(f"no mutant matches {', '.join(unknown)}")
        mutants = chosen
    label = a.test_cmd
    if a.quick:
        a.test_cmd, label = QUICK_CMD, "--quick"
    if a.jobs < 1:
        die("--jobs must be >= 1")
    rev = subprocess.run(["git", "rev-parse", "--verify", a.rev + "^{commit}"], capture_output=True, text=True,
                         cwd=repo)
    if rev.returncode:
        die(f"{a.rev}: not a revision")
    rev = rev.stdout.strip()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    tmp = tempfile.mkdtemp(prefix="sb-mutate.")
    out = a.out or os.path.join(tmp, "results")
    if a.check:
        print(f"mutate: {len(mutants)} mutants of {os.path.relpath(lst, repo)} against revision {rev[:12]}")
    else:
        os.makedirs(out, exist_ok=True)
        print(f"mutate: {len(mutants)} mutants of {os.path.relpath(lst, repo)}, revision {rev[:12]}, "
              f"test command '{label}', {a.jobs} at once; logs in {out}", flush=True)

    def fresh_copy(path):
        os.makedirs(path)
        subprocess.run(f"git -C '{repo}' archive --format=tar {rev} | tar -x -C '{path}'", shell=True, check=True)

    try:
        # The list against the revision's sources: stale entries need no build.
        ref = os.path.join(tmp, "ref")
        fresh_copy(ref)
        results = {}
        todo = []
        for m in mutants:
            r, why = apply(m, ref)
            if r is None:
                results[m.id] = ("STALE", 0.0, why)
            else:
                todo.append(m)
        if a.check:
            for m in mutants:
                st = results.get(m.id, ("APPLIES", 0, ""))
                print(f"{st[0]:<12} {m.id:<28} {st[2]}")
            return 1 if any(v[0] == "STALE" for v in results.values()) else 0

        # One built copy (the baseline), then one copy of it per further job (cp -a keeps mtimes:
        # the copies start up to date).
        base = os.path.join(tmp, "slot-0")
        shutil.move(ref, base)
        t0 = time.time()
        blog = os.path.join(out, "baseline.log")
        cmd = "make -j2 -s all" if (a.build_only or a.no_baseline) else a.test_cmd
        shown = "make -j2 -s all" if (a.build_only or a.no_baseline) else label
        rc = run(cmd, base, blog, None)
        if rc != 0:
            die(f"the unmutated tree fails '{shown}' (see {blog}): fix that first")
        print(f"baseline: '{shown}' passes on the unmutated copy ({time.time() - t0:.0f} s)", flush=True)
        slots = [Slot(base)]
        for k in range(1, min(a.jobs, max(len(todo), 1))):
            p = os.path.join(tmp, f"slot-{k}")
            subprocess.run(["cp", "-a", base, p], check=True)
            slots.append(Slot(p))

        q = queue.Queue()
        for m in todo:
            q.put(m)
        lock = threading.Lock()
        done = [0]

        def report(m, status, secs, detail):
            if STOP.is_set():
                return
            with lock:
                results[m.id] = (status, secs, detail)
                done[0] += 1
                print(f"[{done[0]:>3}/{len(todo)}] {status:<11} {m.id:<28} {secs:6.0f} s  {detail}", flush=True)

        def worker(slot):
            while not STOP.is_set():
                try:
                    m = q.get_nowait()
                except queue.Empty:
                    return
                (orig, mutated), _ = apply(m, slot.path)
                path = os.path.join(slot.path, m.file)
                log = os.path.join(out, f"{m.id}.log")
                if os.path.exists(log):
                    os.remove(log)
                t = time.time()
                with open(path, "w", encoding="utf-8") as f:
                    f.write(mutated)
                try:
                    rc = run("make -s bin/stackelberg", slot.path, log, a.timeout)
                    if rc is None:
                        report(m, "TIMEOUT", time.time() - t, "in the build")
                    elif rc != 0:
                        report(m, "BUILD-ERROR", time.time() - t, f"see {log}")
                    elif a.build_only:
                        report(m, "BUILT", time.time() - t, "")
                    else:
                        left = max(a.timeout - (time.time() - t), 1.0)
                        rc = run(a.test_cmd, slot.path, log, left, {"MUTATE_FIRST": first_tests(m.file)})
                        if rc is None:
                            report(m, "TIMEOUT", time.time() - t, "")
                        elif rc == 0:
                            report(m, "SURVIVED", time.time() - t, "")
                        else:
                            report(m, "KILLED", time.time() - t, "by " + (", ".join(failing_tests(log)) or "the build of the tests or a test binary's exit status"))
                finally:
                    # The original text, newer than the mutant's objects: the next build
                    # recompiles it.
                    with open(path, "w", encoding="utf-8") as f:
                        f.write(orig)

        threads = [threading.Thread(target=worker, args=(s,), daemon=True) for s in slots]
        for th in threads:
            th.start()
        while any(th.is_alive() for th in threads):
            for th in threads:
                th.join(timeout=1.0)

        # Summary, in list order.
        with open(os.path.join(out, "results.tsv"), "w") as f:
            f.write("id\tstatus\tseconds\tfile\tdetail\n")
            for m in mutants:
                st, secs, detail = results[m.id]
                f.write(f"{m.id}\t{st}\t{secs:.0f}\t{m.file}\t{detail}\n")
        counts = {}
        for m in mutants:
            counts[results[m.id][0]] = counts.get(results[m.id][0], 0) + 1
        print()
        for st in ("SURVIVED", "STALE", "BUILD-ERROR", "TIMEOUT"):
            for m in mutants:
                if results[m.id][0] == st:
                    print(f"{st:<11} {m.id:<28} {m.file}: {m.why}")
        n = len(mutants)
        killed = counts.get("KILLED", 0)
        print("\n" + ", ".join(f"{k.lower()} {v}" for k, v in sorted(counts.items())) + f" of {n}")
        if not a.build_only:
            print(f"kill rate: {killed}/{n} = {100.0 * killed / n if n else 0:.1f}% (test command '{label}', "
                  f"revision {rev[:12]}); results in {out}/results.tsv")
        bad = any(results[m.id][0] in ("STALE", "BUILD-ERROR") for m in mutants)
        return 1 if bad else 0
    finally:
        if not a.keep:
            for d in os.listdir(tmp):
                if d.startswith("slot-") or d == "ref":
                    for _ in range(3):  # a killed build may still be writing for a moment
                        shutil.rmtree(os.path.join(tmp, d), ignore_errors=True)
                        if not os.path.exists(os.path.join(tmp, d)):
                            break
                        time.sleep(2)
            if not os.listdir(tmp):
                os.rmdir(tmp)
        else:
            print(f"mutate: scratch copies kept in {tmp}")


if __name__ == "__main__":
    sys.exit(main())
