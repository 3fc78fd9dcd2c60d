#!/usr/bin/env python3
"""A real Slurm job array scans a tree in shards and a dependent job merges them (part of scripts/test).

A single-node Slurm cluster (scripts/slurm/cluster: munge, slurmctld, slurmd on loopback) is
started in WORK and always stopped at the end. A tree of FILES files (hard links to SampleData's
files in 20 dataset folders, made by scripts/service/crash_test.py's make_tree) is submitted with
deploy/slurm/submit.sh as an array of SHARDS tasks plus a merge job (--dependency=afterok), once
for JSON Lines and once with --format csv --stats (and, when the binary has `index --shard`, once
with IMAGINGX_COMMAND=index). Checks, one `ok`/`FAIL` line each:
  - every array task and the merge job end COMPLETED with exit code 0, within the time limit;
  - every shard wrote its part and its manifest, and the records are spread over more than one part;
  - the merged file equals `imagingx scan TREE --output single.EXT` (same options) byte for byte
    (for index: the merged index's export and dataset fingerprints equal a single index's);
  - a lost part re-made by an array of that one task (--array=K) merges again to the same bytes;
  - a failing array (a binary that exits 1) never starts the merge: the merge job is cancelled
    and no merged file appears.
The time from submit to the merged file is printed for each run.
"""
import argparse, os, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "scripts", "service"))
from crash_test import fingerprints, make_tree  # noqa: E402

CLUSTER = os.path.join(HERE, "cluster")
SUBMIT = os.path.join(REPO, "deploy", "slurm", "submit.sh")
TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED",
            "BOOT_FAIL", "DEADLINE"}

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)
    return ok


def jobs_of(job_id, env):
    """The jobs (array tasks are one each) that `scontrol show job -o ID` lists: fields by name."""
    r = subprocess.run(["scontrol", "show", "job", "-o", job_id], capture_output=True, text=True, env=env, timeout=30)
    jobs = []
    for line in r.stdout.splitlines():
        fields = {}
        for word in line.split():
            key, eq, value = word.partition("=")
            if eq and key not in fields:
                fields[key] = value
        if fields:
            jobs.append(fields)
    return jobs


def wait_for(job_ids, env, deadline):
    """Polls until every job listed under each id is in a terminal state or the deadline passes."""
    while True:
        states = {j: jobs_of(j, env) for j in job_ids}
        if all(jobs and all(x.get("JobState") in TERMINAL for x in jobs) for jobs in states.values()):
            return states, True
        if time.time() > deadline:
            return states, False
        time.sleep(0.5)


def submit(binary, root, outdir, shards, options, env, command="scan"):
    env = dict(env, IMAGINGX=binary, IMAGINGX_COMMAND=command,
               # Two one-CPU tasks at a time on this machine's two cores.
               IMAGINGX_SBATCH_OPTS="--cpus-per-task=1 --mem-per-cpu=256M --time=00:15:00")
    r = subprocess.run([SUBMIT, root, outdir, str(shards), *options], capture_output=True, text=True, env=env, timeout=60)
    ids = dict(line.split("=", 1) for line in r.stdout.split() if "=" in line)
    if r.returncode != 0 or "array_job_id" not in ids or "merge_job_id" not in ids:
        raise RuntimeError(f"submit.sh failed ({r.returncode}): {r.stdout} {r.stderr}")
    return ids["array_job_id"], ids["merge_job_id"]


def timeline(tasks, merge):
    """Where the time went, from Slurm's own times (whole seconds)."""
    def seconds(job, field):
        try:
            return time.mktime(time.strptime(job.get(field, ""), "%Y-%m-%dT%H:%M:%S"))
        except ValueError:
            return None
    submit = [seconds(t, "SubmitTime") for t in tasks]
    start = [seconds(t, "StartTime") for t in tasks]
    end = [seconds(t, "EndTime") for t in tasks]
    merge_start, merge_end = seconds(merge, "StartTime"), seconds(merge, "EndTime")
    if None in submit + start + end or merge_start is None or merge_end is None:
        return ""
    return (f"; Slurm's clock: the first task started {min(start) - min(submit):.0f} s after submit, "
            f"the tasks ran {max(end) - min(start):.0f} s in all (each "
            f"{', '.join(f'{e - s:.0f}' for s, e in zip(start, end))} s), the merge started "
            f"{merge_start - max(end):.0f} s after the last task and ran {merge_end - merge_start:.0f} s")


def run_sharded(binary, tree, work, shards, options, env, timeout, label, command="scan"):
    ending = "sqlite" if command == "index" else "csv" if "csv" in options else "jsonl"
    outdir = os.path.join(work, f"out-{ending}")
    started = time.time()
    array_id, merge_id = submit(binary, tree, outdir, shards, options, env, command)
    states, finished = wait_for([array_id, merge_id], env, started + timeout)
    elapsed = time.time() - started
    merged = os.path.join(outdir, "index.sqlite" if command == "index" else f"records.{ending}")
    tasks = states[array_id]
    check(finished, f"{label}: the array {array_id} and the merge {merge_id} ended within {timeout} s")
    task_states = sorted(f"{t.get('ArrayTaskId', '?')}:{t.get('JobState')}:{t.get('ExitCode')}" for t in tasks)
    check(len(tasks) == shards and all(t.get("JobState") == "COMPLETED" and t.get("ExitCode") == "0:0" for t in tasks),
          f"{label}: {shards} array tasks completed with exit code 0 ({', '.join(task_states)})")
    merge = states[merge_id][0] if states[merge_id] else {}
    check(merge.get("JobState") == "COMPLETED" and merge.get("ExitCode") == "0:0",
          f"{label}: the merge job completed ({merge.get('JobState')}, exit {merge.get('ExitCode')})")
    if command == "index":
        return compare_index(binary, tree, work, outdir, shards, merged, options, label, elapsed, tasks, merge)
    counts = []
    for k in range(shards):
        part = os.path.join(outdir, f"part-{k}.{ending}")
        if os.path.exists(part):
            with open(part, "rb") as f:
                counts.append(sum(1 for _ in f))
        else:
            counts.append(None)
    check(all(c is not None for c in counts) and
          all(os.path.exists(os.path.join(outdir, f"part-{k}.{ending}.shard.json")) for k in range(shards)),
          f"{label}: every shard wrote its part and manifest (lines per part: {counts})")
    check(sum(1 for c in counts if c and c > (1 if ending == "csv" else 0)) > 1,
          f"{label}: the records are spread over more than one shard")

    single = os.path.join(work, f"single.{ending}")
    r = subprocess.run([binary, "scan", tree, "--output", single, "--quiet", *options], capture_output=True, text=True)
    check(r.returncode == 0, f"{label}: the single scan ran (exit {r.returncode}) {r.stderr[:200]}")
    same = os.path.exists(merged) and os.path.exists(single) and open(merged, "rb").read() == open(single, "rb").read()
    size = os.path.getsize(single) if os.path.exists(single) else 0
    check(same, f"{label}: the merged {os.path.basename(merged)} equals a single scan byte for byte ({size} bytes)")
    if not same:
        logs = os.path.join(outdir, "logs")
        for name in sorted(os.listdir(logs)) if os.path.isdir(logs) else []:
            text = open(os.path.join(logs, name), errors="replace").read().strip()
            if text:
                print(f"     {name}: {text[-400:]}")
    print(f"     {label}: submit to merged file {elapsed:.1f} s ({shards} tasks + merge){timeline(tasks, merge)}", flush=True)
    return elapsed


def compare_index(binary, tree, work, outdir, shards, merged, options, label, elapsed, tasks, merge):
    """The merged index must export what an index of the whole tree exports."""
    check(all(os.path.exists(os.path.join(outdir, f"part-{k}.sqlite")) for k in range(shards)),
          f"{label}: every shard wrote its index part")
    single = os.path.join(work, "single.sqlite")
    r = subprocess.run([binary, "index", tree, "--db", single, "--quiet", *options], capture_output=True, text=True)
    check(r.returncode == 0, f"{label}: the single index ran (exit {r.returncode}) {r.stderr[:200]}")
    exports = []
    for db in [merged, single]:
        e = subprocess.run([binary, "export", "--db", db, "--file-stat"], capture_output=True)
        exports.append(e.stdout if e.returncode == 0 and os.path.exists(db) else None)
    check(exports[0] is not None and exports[0] == exports[1],
          f"{label}: the merged index exports what a single index exports ({len(exports[1] or b'')} bytes)")
    try:
        expected = fingerprints(single)
        same_fp = os.path.exists(merged) and len(expected) > 0 and fingerprints(merged) == expected
    except Exception as e:  # a merged file that is not an index with datasets
        expected, same_fp = [], False
        print(f"     {label}: {e}")
    check(same_fp, f"{label}: the merged index's dataset fingerprints equal a single index's ({len(expected)} datasets)")
    print(f"     {label}: submit to merged index {elapsed:.1f} s ({shards} tasks + merge){timeline(tasks, merge)}", flush=True)
    return elapsed


def run_rerun_one_shard(binary, tree, work, shards, env, timeout):
    """The README's recovery: a lost part is re-made by an array of that one task, then merged again."""
    outdir = os.path.join(work, "out-jsonl")
    lost = shards // 2
    for name in [f"part-{lost}.jsonl", f"part-{lost}.jsonl.shard.json", "records.jsonl"]:
        os.remove(os.path.join(outdir, name))
    here = os.path.join(REPO, "deploy", "slurm")
    jobenv = dict(env, IMAGINGX=binary, IMAGINGX_COMMAND="scan")
    common = ["--parsable", "--cpus-per-task=1", "--mem-per-cpu=256M", "--time=00:15:00",
              f"--output={outdir}/logs/rerun-%j.out", f"--error={outdir}/logs/rerun-%j.err"]
    started = time.time()
    one = subprocess.run(["sbatch", f"--array={lost}", *common, os.path.join(here, "imagingx-array.sbatch"),
                          tree, outdir, str(shards)], capture_output=True, text=True, env=jobenv, timeout=60)
    one_id = one.stdout.strip().split(";")[0]
    merge = subprocess.run(["sbatch", f"--dependency=afterok:{one_id}", *common, os.path.join(here, "imagingx-merge.sbatch"),
                            outdir, str(shards)], capture_output=True, text=True, env=jobenv, timeout=60)
    merge_id = merge.stdout.strip().split(";")[0]
    if not check(one.returncode == 0 and merge.returncode == 0, f"re-run of shard {lost}: submitted {one.stderr}{merge.stderr}"):
        return
    states, finished = wait_for([one_id, merge_id], env, started + timeout)
    merged, single = os.path.join(outdir, "records.jsonl"), os.path.join(work, "single.jsonl")
    same = finished and os.path.exists(merged) and open(merged, "rb").read() == open(single, "rb").read()
    check(same, f"re-run of shard {lost} alone (--array={lost}) and a new merge give the single scan's bytes "
                f"({time.time() - started:.1f} s)")


def run_failing(tree, work, shards, env, timeout):
    """An array whose tasks fail must never start the merge."""
    outdir = os.path.join(work, "out-failing")
    failing = os.path.join(work, "failing-imagingx")
    with open(failing, "w") as f:
        f.write("#!/bin/sh\necho 'a task that fails' >&2\nexit 1\n")
    os.chmod(failing, 0o755)
    array_id, merge_id = submit(failing, tree, outdir, shards, [], env)
    states, finished = wait_for([array_id, merge_id], env, time.time() + timeout)
    merge = states[merge_id][0] if states[merge_id] else {}
    tasks = states[array_id]
    check(finished and all(t.get("JobState") == "FAILED" for t in tasks) and merge.get("JobState") == "CANCELLED"
          and not os.path.exists(os.path.join(outdir, "records.jsonl")),
          f"failing array: tasks {sorted(set(t.get('JobState') for t in tasks))}, the merge {merge.get('JobState')} "
          f"({merge.get('Reason')}), no records.jsonl")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--imagingx", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--sample-data", default=os.path.join(REPO, "SampleData"))
    ap.add_argument("--files", type=int, default=4000)
    ap.add_argument("--shards", type=int, default=4)
    ap.add_argument("--timeout", type=int, default=600, help="seconds each submission may take")
    a = ap.parse_args()
    binary = os.path.abspath(a.imagingx)
    os.makedirs(a.work, exist_ok=True)
    work = tempfile.mkdtemp(dir=os.path.abspath(a.work))
    cluster_dir = os.path.join(work, "cluster")

    for tool in ["sbatch", "scontrol", "slurmctld", "slurmd", "munged"]:
        if shutil.which(tool) is None:
            check(False, f"{tool} is installed (scripts/setup --test installs slurm-wlm and munge)")
            sys.exit(1)
    helps = {c: subprocess.run([binary, c, "--help"], capture_output=True, text=True) for c in ["scan", "merge"]}
    if not check("--shard" in helps["scan"].stdout and helps["merge"].returncode == 0,
                 f"{binary} has `scan --shard K/N` and `merge`"):
        sys.exit(1)

    tree = os.path.join(work, "tree")
    n = make_tree(a.sample_data, tree, a.files)
    print(f"     a tree of {n} files in 20 folders", flush=True)
    env = dict(os.environ, SLURM_CONF=os.path.join(cluster_dir, "slurm.conf"))
    started = time.time()
    r = subprocess.run([CLUSTER, "start", cluster_dir], capture_output=True, text=True, timeout=120)
    try:
        if not check(r.returncode == 0, f"a single-node Slurm cluster started in {time.time() - started:.1f} s "
                                        f"{(r.stdout + r.stderr).strip()[-300:] if r.returncode else ''}"):
            sys.exit(1)
        run_sharded(binary, tree, work, a.shards, [], env, a.timeout, "jsonl")
        run_rerun_one_shard(binary, tree, work, a.shards, env, a.timeout)
        run_sharded(binary, tree, work, a.shards, ["--format", "csv", "--stats"], env, a.timeout, "csv --stats")
        index_help = subprocess.run([binary, "index", "--help"], capture_output=True, text=True).stdout
        if "--shard" in index_help:
            run_sharded(binary, tree, work, a.shards, [], env, a.timeout, "index", command="index")
        else:
            print("     this imagingx has no `index --shard`: the index array (IMAGINGX_COMMAND=index) is not run", flush=True)
        run_failing(tree, work, a.shards, env, a.timeout)
    finally:
        s = subprocess.run([CLUSTER, "stop", cluster_dir], capture_output=True, text=True, timeout=180)
        check(s.returncode == 0, "the cluster stopped")
    if not failures:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
