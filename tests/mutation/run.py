#!/usr/bin/env python3
"""Mutation harness: plants each mutant of tests/mutation/mutants.ini, one at a time, in a copy
of the source tree, rebuilds it, runs the test suites that cover the mutated module and says
whether a test caught it.  See tests/mutation/README.md.

    tests/mutation/run.py                 every mutant
    tests/mutation/run.py --sample        the fixed sample CI runs ([ci] in mutants.ini)
    tests/mutation/run.py ID [ID ...]     only these (ids as in mutants.ini, fnmatch patterns)
    tests/mutation/run.py --list          the mutants and the suites each one runs
    tests/mutation/run.py --check         does every mutant still apply? (no build, seconds)

One line per mutant: killed / survived / refused (did not apply, did not compile), then
`mutation: K/N killed`.  Exit status 0 when every mutant was killed or survived with an
`equivalent` reason written next to it, 1 otherwise, 2 when the harness itself could not run
(the unmutated copy does not build or its suites crash).
"""
import argparse
import configparser
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
MUTANTS = HERE / "mutants.ini"
RESERVED = ("suites", "ci")  # sections of mutants.ini that are not mutants
KEYS = {"file", "find", "replace", "regex", "suites", "why", "equivalent"}

# A failed Check assertion or error: "<file>:<line>:F:<tcase>:<test>:<iter>: <message>"
CHECK_LINE = re.compile(r"^[^\s:]+:\d+:([FE]):([^:\s]+):([^:\s]+):\d+:(.*)$", re.M)


class Mutant:
    def __init__(self, mid, sec):
        unknown = set(sec.keys()) - KEYS
        if unknown:
            raise SystemExit(f"mutants.ini [{mid}]: unknown key(s) {', '.join(sorted(unknown))}")
        for k in ("file", "find", "why"):
            if not sec.get(k, "").strip():
                raise SystemExit(f"mutants.ini [{mid}]: '{k}' is required")
        if "replace" not in sec:
            raise SystemExit(f"mutants.ini [{mid}]: 'replace' is required (it may be empty)")
        self.id = mid
        self.file = sec["file"].strip()
        self.find = sec["find"].strip()
        self.replace = sec["replace"].strip()
        self.regex = sec.get("regex", "no").strip().lower() in ("yes", "true", "1")
        self.suites = sec.get("suites", "").split()
        self.why = " ".join(sec["why"].split())
        self.equivalent = " ".join(sec.get("equivalent", "").split())

    def pattern(self):
        """The regex the mutant's `find` stands for.  A literal snippet matches whatever the
        whitespace between its tokens (line breaks and reindentation included), so a
        reformatted line still matches; tokens that were words on both sides of a blank must
        stay separated."""
        if self.regex:
            return re.compile(self.find, re.M)
        tokens = re.findall(r"\w+|\S", self.find)
        out = []
        for i, t in enumerate(tokens):
            if i:
                both_words = re.match(r"\w", tokens[i - 1]) and re.match(r"\w", t)
                out.append(r"\s+" if both_words else r"\s*")
            out.append(re.escape(t))
        return re.compile("".join(out))

    def apply(self, text):
        """(mutated text, None) or (None, reason it does not apply)."""
        pat = self.pattern()
        hits = list(pat.finditer(text))
        if len(hits) != 1:
            return None, f"pattern matches {len(hits)} times in {self.file}, expected once"
        m = hits[0]
        repl = m.expand(self.replace) if self.regex else self.replace
        out = text[: m.start()] + repl + text[m.end():]
        if out == text:
            return None, "replacement leaves the file unchanged"
        return out, None


def load(path):
    cp = configparser.ConfigParser(interpolation=None, delimiters=("=",),
                                   comment_prefixes=("#",), empty_lines_in_values=False)
    cp.optionxform = str
    with open(path, encoding="utf-8") as f:
        cp.read_file(f)
    suite_map = []  # (glob, [suites]) in file order, first match wins
    if cp.has_section("suites"):
        for glob, names in cp.items("suites"):
            suite_map.append((glob.strip(), names.split()))
    sample = cp.get("ci", "sample", fallback="").split()
    mutants = [Mutant(s, cp[s]) for s in cp.sections() if s not in RESERVED]
    return mutants, suite_map, sample


def suites_for(m, suite_map, all_suites):
    names = m.suites
    if not names:
        for glob, ns in suite_map:
            if fnmatch.fnmatch(m.file, glob):
                names = ns
                break
    if not names or names == ["all"]:
        return list(all_suites)
    bad = [n for n in names if n not in all_suites]
    if bad:
        raise SystemExit(f"mutant {m.id}: no test suite named {', '.join(bad)}")
    return names


def run(cmd, cwd, timeout=None, quiet=True):
    return subprocess.run(cmd, cwd=cwd, timeout=timeout, text=True,
                          stdout=subprocess.PIPE if quiet else None,
                          stderr=subprocess.STDOUT if quiet else None)


def source_files(root):
    """Tracked and untracked-but-not-ignored files: the working tree as it is, build dirs out."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=root, check=True, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL).stdout
        files = [f for f in out.decode().split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for d, dirs, names in os.walk(root):
            rel = os.path.relpath(d, root)
            dirs[:] = [x for x in dirs if x != ".git" and not (rel == "." and x.startswith("build"))]
            files += [os.path.normpath(os.path.join(rel, n)) for n in names]
    return [f for f in files if (root / f).is_file()]


def sync_tree(src, dst):
    """Copies src's files into dst, rewriting only those whose bytes differ so that a reused
    copy rebuilds incrementally."""
    n = 0
    for rel in source_files(src):
        s, d = src / rel, dst / rel
        data = s.read_bytes()
        if d.is_file() and d.read_bytes() == data:
            continue
        d.parent.mkdir(parents=True, exist_ok=True)
        d.write_bytes(data)
        shutil.copymode(s, d)
        n += 1
    return n


def test_info(build):
    """{suite: declared timeout} and {suite: [ninja targets it needs]} (its executable and what
    it depends on, e.g. the nnfit program the CLI suites run)."""
    info = build / "meson-info"
    tests = json.loads((info / "intro-tests.json").read_text())
    targets = {t["id"]: t["filename"] for t in json.loads((info / "intro-targets.json").read_text())}
    timeouts, needs = {}, {}
    for t in tests:
        timeouts[t["name"]] = t.get("timeout") or 30
        files = [t["cmd"][0]] + [f for d in t.get("depends", []) for f in targets.get(d, [])]
        needs[t["name"]] = sorted({os.path.relpath(f, build) for f in files})
    return timeouts, needs


def run_suites(build, suites, timeout, jobs, declared):
    """Runs the suites; returns ({failure ids}, seconds).  A failure id is
    suite:tcase:test for a failed Check test, suite:RESULT when the suite as a whole failed
    (timeout, crash outside a test)."""
    mult = timeout / max(declared[s] for s in suites)
    log = build / "meson-logs" / "mutation.json"
    if log.exists():
        log.unlink()
    t0 = time.monotonic()
    run(["meson", "test", "-C", str(build), "--no-rebuild", "--num-processes", str(jobs),
         "--timeout-multiplier", f"{mult:.6g}", "--logbase", "mutation"] + suites,
        cwd=build, timeout=timeout * len(suites) + 120)
    secs = time.monotonic() - t0
    failures = set()
    seen = set()
    if log.exists():
        for line in log.read_text().splitlines():
            if not line.strip():
                continue
            r = json.loads(line)
            name, result = r.get("name"), str(r.get("result", "")).upper()
            result = result.split(".")[-1]
            seen.add(name)
            if result in ("OK", "SKIP", "EXPECTEDFAIL"):
                continue
            found = {f"{name}:{tc}:{t}" for _, tc, t, _ in CHECK_LINE.findall(r.get("stdout") or "")}
            failures |= found
            if result != "FAIL" or not found:
                failures.add(f"{name}:{result}")
    for s in suites:
        if s not in seen:
            failures.add(f"{s}:NOT-RUN")
    return failures, secs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ids", nargs="*", help="mutant ids (fnmatch patterns); default: all")
    ap.add_argument("--sample", action="store_true", help="only the [ci] sample")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--check", action="store_true",
                    help="only check that every mutant applies (once) to the source tree; no build")
    ap.add_argument("--all-suites", action="store_true",
                    help="run every suite for every mutant instead of the [suites] mapping")
    ap.add_argument("--workdir", help="copy of the tree to (re)use; default: a fresh temp dir, "
                    "removed afterwards")
    ap.add_argument("--jobs", type=int, default=2, help="ninja and meson test jobs (default 2)")
    ap.add_argument("--timeout", type=float, default=60.0,
                    help="seconds per test suite before it counts as hung (default 60)")
    ap.add_argument("--mutants", default=str(MUTANTS), help="mutant list (default: %(default)s)")
    args = ap.parse_args()

    mutants, suite_map, sample = load(args.mutants)
    ids = [m.id for m in mutants]
    missing = [s for s in sample if s not in ids]
    if missing:
        raise SystemExit(f"[ci] sample names unknown mutant(s): {', '.join(missing)}")
    if args.sample or args.ids:  # the sample and/or the ids given
        mutants = [m for m in mutants if (args.sample and m.id in sample)
                   or any(fnmatch.fnmatch(m.id, p) for p in args.ids)]
        if not mutants:
            raise SystemExit("no mutant matches " + " ".join(args.ids))

    all_suites = re.findall(r"'(test_\w+)'", (ROOT / "tests" / "meson.build").read_text())
    if args.list:
        for m in mutants:
            s = "all" if args.all_suites else " ".join(suites_for(m, suite_map, all_suites))
            print(f"{m.id:28} {m.file:24} {s}")
        return 0

    if args.check:
        bad = 0
        for m in mutants:
            path = ROOT / m.file
            why_not = f"no file {m.file}" if not path.is_file() else \
                m.apply(path.read_text(encoding="utf-8"))[1]
            if why_not:
                bad += 1
                print(f"refused  {m.id:28} did not apply: {why_not}")
        print(f"mutation: {len(mutants) - bad}/{len(mutants)} mutants apply")
        return 1 if bad else 0

    t_start = time.monotonic()
    tmp = None
    if args.workdir:
        work = Path(args.workdir).resolve()
        work.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.mkdtemp(prefix="nnfit-mutation-")
        work = Path(tmp)
    try:
        return harness(args, mutants, suite_map, all_suites, work, t_start)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def harness(args, mutants, suite_map, all_suites, work, t_start):
    tree, build = work / "tree", work / "tree" / "build"
    tree.mkdir(exist_ok=True)
    changed = sync_tree(ROOT, tree)
    print(f"mutation: copy of {ROOT} in {tree} ({changed} files updated)", flush=True)
    if not (build / "build.ninja").exists():
        r = run(["meson", "setup", str(build)], cwd=tree)
        if r.returncode:
            print(r.stdout)
            print("mutation: meson setup of the copy failed", file=sys.stderr)
            return 2
    r = run(["ninja", "-C", str(build), f"-j{args.jobs}"], cwd=tree)
    if r.returncode:
        print(r.stdout[-4000:])
        print("mutation: the unmutated copy does not build", file=sys.stderr)
        return 2
    declared, needs = test_info(build)

    plan = [(m, all_suites if args.all_suites else suites_for(m, suite_map, all_suites))
            for m in mutants]
    needed = sorted({s for _, ss in plan for s in ss}, key=all_suites.index)
    base_fail, secs = run_suites(build, needed, args.timeout, args.jobs, declared)
    broken = {f for f in base_fail if not f.count(":") == 2}
    print(f"mutation: baseline {len(needed)} suites in {secs:.1f}s, "
          f"{len(base_fail)} failing test(s){': ' + ' '.join(sorted(base_fail)) if base_fail else ''}",
          flush=True)
    if broken:
        print("mutation: a suite fails as a whole on the unmutated tree; fix that first",
              file=sys.stderr)
        return 2

    killed = survived = refused = equivalent = 0
    bad = []
    for i, (m, suites) in enumerate(plan, 1):
        t0 = time.monotonic()
        path = tree / m.file
        if not path.is_file():
            status, detail = "refused", f"did not apply: no file {m.file}"
        else:
            original = path.read_text(encoding="utf-8")
            mutated, why_not = m.apply(original)
            if mutated is None:
                status, detail = "refused", f"did not apply: {why_not}"
            else:
                try:
                    path.write_text(mutated, encoding="utf-8")
                    # only what these suites run: the library, their programs, nnfit
                    targets = sorted({f for x in suites for f in needs[x]})
                    b = run(["ninja", "-C", str(build), f"-j{args.jobs}"] + targets, cwd=tree,
                            timeout=900)
                    if b.returncode:
                        status, detail = "refused", "did not compile"
                    else:
                        fails, _ = run_suites(build, suites, args.timeout, args.jobs, declared)
                        new = sorted(fails - base_fail)
                        if new:
                            status = "killed"
                            detail = " ".join(new[:3]) + (f" (+{len(new) - 3})" if len(new) > 3 else "")
                        else:
                            status = "survived"
                            detail = f"equivalent: {m.equivalent}" if m.equivalent else m.why
                finally:
                    path.write_text(original, encoding="utf-8")
        dt = time.monotonic() - t0
        if status == "killed":
            killed += 1
        elif status == "survived":
            survived += 1
            if m.equivalent:
                equivalent += 1
            else:
                bad.append(m.id)
        else:
            refused += 1
            bad.append(m.id)
        print(f"{i:3}/{len(plan)} {status:8} {m.id:28} {dt:5.1f}s  {detail}", flush=True)

    # leave the copy's build matching its sources
    run(["ninja", "-C", str(build), f"-j{args.jobs}"], cwd=tree)
    total = time.monotonic() - t_start
    n = len(plan)
    print(f"mutation: {survived} survived ({equivalent} marked equivalent), {refused} refused, "
          f"{total:.0f}s")
    print(f"mutation: {killed}/{n} killed")
    if bad:
        print("mutation: not killed and not marked equivalent: " + " ".join(bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
