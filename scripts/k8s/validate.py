#!/usr/bin/env python3
"""An offline check of deploy/k8s's Jobs (part of scripts/test): the Kubernetes JSON schema,
then the rules and the shard plumbing the schema cannot express.

1. Schema. kubernetes-validate (PyPI, pinned in scripts/k8s/requirements.txt) ships the JSON
   schemas generated from Kubernetes' OpenAPI definitions; each manifest is validated strictly
   (unknown fields rejected) against the oldest and the newest version it bundles (1.25, 1.37).
2. Our own checks, for what a JSON schema does not say and for a useful message: the fields of
   the subset of batch/v1 Job and core/v1 PodSpec these manifests use, written down below from
   the Kubernetes API reference (https://kubernetes.io/docs/reference/kubernetes-api/: Job, Pod,
   Container, Volume, PersistentVolumeClaimVolumeSource, ResourceRequirements, SecurityContext,
   PodSecurityContext, ObjectMeta). A field outside that subset is reported.
  - each file parses as YAML; apiVersion batch/v1, kind Job;
  - required fields are present and every field has its type (int32/int64 ranges, booleans,
    strings, string lists, string maps, resource quantities), enums (completionMode,
    restartPolicy, imagePullPolicy) have allowed values;
  - names are DNS-1123 (Job: subdomain, and at most 63 characters when Indexed because pods are
    named after it; containers and volumes: labels), unique; every volumeMount names a volume,
    mount paths are absolute; each requested quantity is at most its limit;
  - Job rules the API server enforces in code, not in the schema: restartPolicy Never or
    OnFailure; an Indexed Job has completions, and parallelism <= 10^5 (and, ours, <= completions);
  - ours: the Indexed Job's command runs `imagingx scan` through a shell with
    `--shard ${JOB_COMPLETION_INDEX}/N` (or $JOB_COMPLETION_INDEX, or Kubernetes' own
    $(JOB_COMPLETION_INDEX)), N equal to completions, an --output part-${JOB_COMPLETION_INDEX}
    under a writable mount, the data mount read-only; the merge Job merges parts 0..N-1 of the
    same N into records under the same output claim.
This is still not the API server's validation: no server runs here, so admission (quotas, pod
security, webhooks), defaulting and the server's other cross-field rules are not applied.
`--self-test` also breaks copies of the manifests in known ways and requires each to be reported.
Prints one ok/FAIL line per check; exits 1 on any failure.
"""
import argparse, copy, glob, os, re, sys

import yaml

INT32, INT64 = (-2**31, 2**31 - 1), (-2**63, 2**63 - 1)
QUANTITY = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?\d+)?$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

# Types: "string", "bool", "int32", "int64", "quantity", ("list", T), ("map", T), ("enum", values),
# or the name of an object below. Each object: field -> (type, required).
SCHEMA = {
    "Job": {"apiVersion": ("string", True), "kind": ("string", True), "metadata": ("ObjectMeta", True),
            "spec": ("JobSpec", True)},
    "ObjectMeta": {"name": ("string", False), "generateName": ("string", False), "namespace": ("string", False),
                   "labels": (("map", "string"), False), "annotations": (("map", "string"), False)},
    "JobSpec": {"template": ("PodTemplateSpec", True), "parallelism": ("int32", False),
                "completions": ("int32", False), "completionMode": (("enum", ["NonIndexed", "Indexed"]), False),
                "backoffLimit": ("int32", False), "backoffLimitPerIndex": ("int32", False),
                "maxFailedIndexes": ("int32", False), "activeDeadlineSeconds": ("int64", False),
                "ttlSecondsAfterFinished": ("int32", False), "suspend": ("bool", False),
                "podReplacementPolicy": (("enum", ["TerminatingOrFailed", "Failed"]), False)},
    "PodTemplateSpec": {"metadata": ("ObjectMeta", False), "spec": ("PodSpec", True)},
    "PodSpec": {"containers": (("list", "Container"), True), "initContainers": (("list", "Container"), False),
                "restartPolicy": (("enum", ["Always", "OnFailure", "Never"]), False),
                "volumes": (("list", "Volume"), False), "securityContext": ("PodSecurityContext", False),
                "serviceAccountName": ("string", False), "nodeSelector": (("map", "string"), False),
                "priorityClassName": ("string", False), "terminationGracePeriodSeconds": ("int64", False),
                "activeDeadlineSeconds": ("int64", False), "imagePullSecrets": (("list", "LocalObjectReference"), False)},
    "LocalObjectReference": {"name": ("string", False)},
    "PodSecurityContext": {"runAsUser": ("int64", False), "runAsGroup": ("int64", False),
                           "runAsNonRoot": ("bool", False), "fsGroup": ("int64", False),
                           "supplementalGroups": (("list", "int64"), False)},
    "Container": {"name": ("string", True), "image": ("string", False), "command": (("list", "string"), False),
                  "args": (("list", "string"), False), "workingDir": ("string", False),
                  "env": (("list", "EnvVar"), False), "resources": ("ResourceRequirements", False),
                  "volumeMounts": (("list", "VolumeMount"), False),
                  "imagePullPolicy": (("enum", ["Always", "Never", "IfNotPresent"]), False),
                  "securityContext": ("SecurityContext", False)},
    "EnvVar": {"name": ("string", True), "value": ("string", False), "valueFrom": ("EnvVarSource", False)},
    "EnvVarSource": {"fieldRef": ("ObjectFieldSelector", False)},
    "ObjectFieldSelector": {"fieldPath": ("string", True), "apiVersion": ("string", False)},
    "ResourceRequirements": {"requests": (("map", "quantity"), False), "limits": (("map", "quantity"), False)},
    "SecurityContext": {"runAsUser": ("int64", False), "runAsGroup": ("int64", False), "runAsNonRoot": ("bool", False),
                        "readOnlyRootFilesystem": ("bool", False), "allowPrivilegeEscalation": ("bool", False),
                        "capabilities": ("Capabilities", False)},
    "Capabilities": {"add": (("list", "string"), False), "drop": (("list", "string"), False)},
    "VolumeMount": {"name": ("string", True), "mountPath": ("string", True), "readOnly": ("bool", False),
                    "subPath": ("string", False)},
    "Volume": {"name": ("string", True), "persistentVolumeClaim": ("PersistentVolumeClaimVolumeSource", False),
               "emptyDir": ("EmptyDirVolumeSource", False), "hostPath": ("HostPathVolumeSource", False),
               "nfs": ("NFSVolumeSource", False)},
    "PersistentVolumeClaimVolumeSource": {"claimName": ("string", True), "readOnly": ("bool", False)},
    "EmptyDirVolumeSource": {"medium": ("string", False), "sizeLimit": ("quantity", False)},
    "HostPathVolumeSource": {"path": ("string", True), "type": ("string", False)},
    "NFSVolumeSource": {"server": ("string", True), "path": ("string", True), "readOnly": ("bool", False)},
}
VOLUME_SOURCES = ["persistentVolumeClaim", "emptyDir", "hostPath", "nfs"]
INDEX = r"(?:\$\{JOB_COMPLETION_INDEX\}|\$JOB_COMPLETION_INDEX\b|\$\(JOB_COMPLETION_INDEX\))"


def quantity_value(q):
    """A resource quantity as a number (for request <= limit), or None when it is not one."""
    s = str(q)
    m = QUANTITY.match(s)
    if not m or isinstance(q, bool):
        return None
    number, suffix = float(m.group(1)), m.group(3) or ""
    factors = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60, "m": 1e-3, "k": 1e3,
               "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18, "": 1}
    if suffix[:1] in "eE" and suffix:
        return number * 10 ** int(suffix[1:])
    return number * factors[suffix] * (-1 if s.startswith("-") else 1)


def check_type(value, kind, where, errors):
    if isinstance(kind, tuple):
        if kind[0] == "list":
            if not isinstance(value, list):
                errors.append(f"{where}: expected a list, got {type(value).__name__}")
                return
            for i, item in enumerate(value):
                check_type(item, kind[1], f"{where}[{i}]", errors)
        elif kind[0] == "map":
            if not isinstance(value, dict):
                errors.append(f"{where}: expected a map, got {type(value).__name__}")
                return
            for k, v in value.items():
                if not isinstance(k, str):
                    errors.append(f"{where}: key {k!r} is not a string")
                check_type(v, kind[1], f"{where}.{k}", errors)
        elif kind[0] == "enum":
            if value not in kind[1]:
                errors.append(f"{where}: {value!r} is not one of {kind[1]}")
        return
    if kind == "string":
        if not isinstance(value, str):
            errors.append(f"{where}: expected a string, got {type(value).__name__} {value!r}")
    elif kind == "bool":
        if not isinstance(value, bool):
            errors.append(f"{where}: expected a boolean, got {value!r}")
    elif kind in ("int32", "int64"):
        low, high = INT32 if kind == "int32" else INT64
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors.append(f"{where}: expected an {kind}, got {value!r}")
    elif kind == "quantity":
        if not isinstance(value, (str, int, float)) or quantity_value(value) is None:
            errors.append(f"{where}: {value!r} is not a resource quantity")
    else:
        if not isinstance(value, dict):
            errors.append(f"{where}: expected an object ({kind}), got {type(value).__name__}")
            return
        fields = SCHEMA[kind]
        for name, (ftype, required) in fields.items():
            if required and name not in value:
                errors.append(f"{where}: the required field {name} ({kind}) is missing")
        for name, v in value.items():
            if name not in fields:
                errors.append(f"{where}.{name}: not a field of {kind} (in the subset this check knows)")
            elif v is None:
                errors.append(f"{where}.{name}: empty")
            else:
                check_type(v, fields[name][0], f"{where}.{name}", errors)


def check_job(doc, where):
    """Schema types plus the Job and PodSpec rules; returns a list of problems."""
    errors = []
    check_type(doc, "Job", where, errors)
    if errors:
        return errors
    if doc["apiVersion"] != "batch/v1" or doc["kind"] != "Job":
        errors.append(f"{where}: apiVersion/kind is {doc['apiVersion']}/{doc['kind']}, not batch/v1/Job")
    name = doc["metadata"].get("name", "")
    if not DNS_SUBDOMAIN.match(name) or len(name) > 253:
        errors.append(f"{where}.metadata.name: {name!r} is not a DNS-1123 subdomain")
    spec = doc["spec"]
    indexed = spec.get("completionMode") == "Indexed"
    if indexed:
        if len(name) > 63:
            errors.append(f"{where}.metadata.name: an Indexed Job's name names its pods' hostnames: at most 63 characters")
        if "completions" not in spec:
            errors.append(f"{where}.spec.completions: an Indexed Job needs completions")
    for field in ["parallelism", "completions", "backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished"]:
        if field in spec and spec[field] < (1 if field in ("activeDeadlineSeconds",) else 0):
            errors.append(f"{where}.spec.{field}: {spec[field]} is out of range")
    if indexed and "completions" in spec and "parallelism" in spec:
        if spec["parallelism"] > 10**5:
            errors.append(f"{where}.spec.parallelism: an Indexed Job allows at most 10^5")
        if spec["parallelism"] > spec["completions"]:
            errors.append(f"{where}.spec.parallelism {spec['parallelism']} exceeds completions {spec['completions']}")
    pod = spec["template"]["spec"]
    if pod.get("restartPolicy") not in ("Never", "OnFailure"):
        errors.append(f"{where}.spec.template.spec.restartPolicy: a Job needs Never or OnFailure, not {pod.get('restartPolicy')!r}")
    volumes = {}
    for i, v in enumerate(pod.get("volumes", [])):
        if not DNS_LABEL.match(v["name"]) or len(v["name"]) > 63:
            errors.append(f"{where}: volume name {v['name']!r} is not a DNS-1123 label")
        if v["name"] in volumes:
            errors.append(f"{where}: volume {v['name']!r} appears twice")
        sources = [s for s in VOLUME_SOURCES if s in v]
        if len(sources) != 1:
            errors.append(f"{where}: volume {v['name']!r} needs exactly one source, has {sources}")
        volumes[v["name"]] = v
    names = set()
    for i, c in enumerate(pod["containers"] + pod.get("initContainers", [])):
        cw = f"{where}.containers[{c['name']}]"
        if not DNS_LABEL.match(c["name"]) or len(c["name"]) > 63:
            errors.append(f"{cw}: the name is not a DNS-1123 label")
        if c["name"] in names:
            errors.append(f"{cw}: the name appears twice")
        names.add(c["name"])
        if not c.get("image"):
            errors.append(f"{cw}: no image (a Job's containers need one)")
        for m in c.get("volumeMounts", []):
            if m["name"] not in volumes:
                errors.append(f"{cw}: volumeMount {m['name']!r} names no volume")
            if not m["mountPath"].startswith("/"):
                errors.append(f"{cw}: mountPath {m['mountPath']!r} is not absolute")
        resources = c.get("resources", {})
        for resource, request in resources.get("requests", {}).items():
            limit = resources.get("limits", {}).get(resource)
            if limit is not None and quantity_value(request) > quantity_value(limit):
                errors.append(f"{cw}: the {resource} request {request} exceeds its limit {limit}")
    return errors


def script_of(doc):
    """The shell script the Job's first container runs (command sh -c + args), or None."""
    c = doc["spec"]["template"]["spec"]["containers"][0]
    argv = list(c.get("command", [])) + list(c.get("args", []))
    if len(argv) >= 3 and os.path.basename(argv[0]) in ("sh", "bash") and argv[1] == "-c":
        return argv[2], c
    return None, c


def mounts_of(doc, container):
    volumes = {v["name"]: v for v in doc["spec"]["template"]["spec"].get("volumes", [])}
    return {m["mountPath"].rstrip("/"): (m, volumes.get(m["name"], {})) for m in container.get("volumeMounts", [])}


def check_scan_job(doc, where):
    """The Indexed Job runs one shard per completion index with N = completions."""
    errors = []
    spec = doc["spec"]
    if spec.get("completionMode") != "Indexed":
        return [f"{where}: the scan Job must be completionMode Indexed"]
    script, container = script_of(doc)
    if script is None:
        return [f"{where}: the container must run its command through `sh -c` so JOB_COMPLETION_INDEX expands"]
    n = spec["completions"]
    m = re.search(r"imagingx\s+(scan|index)\s+(\S+)", script)
    if not m:
        errors.append(f"{where}: the command does not run `imagingx scan ROOT` (or index)")
    shard = re.search(r"--shard[= ]\"?" + INDEX + r"/(\d+)\"?", script)
    if not shard:
        errors.append(f"{where}: no `--shard ${{JOB_COMPLETION_INDEX}}/N` in the command")
    elif int(shard.group(1)) != n:
        errors.append(f"{where}: --shard .../{shard.group(1)} but completions is {n}")
    output = re.search(r"--output[= ]\"?(/\S*?)part-" + INDEX + r"\.(jsonl|csv)\"?", script)
    mounts = mounts_of(doc, container)
    if not output:
        errors.append(f"{where}: no `--output DIR/part-${{JOB_COMPLETION_INDEX}}.jsonl` in the command")
    else:
        out_dir = output.group(1).rstrip("/")
        if out_dir not in mounts:
            errors.append(f"{where}: the output folder {out_dir} is not a mounted volume")
        elif mounts[out_dir][0].get("readOnly"):
            errors.append(f"{where}: the output volume {out_dir} is mounted read-only")
    if m:
        root = m.group(2).strip("\"'").rstrip("/")
        if root not in mounts:
            errors.append(f"{where}: the scanned folder {root} is not a mounted volume")
        elif not mounts[root][0].get("readOnly"):
            errors.append(f"{where}: the data volume {root} should be mounted readOnly")
    return errors


def check_merge_job(doc, scan_doc, where):
    errors = []
    script, container = script_of(doc)
    if script is None or "imagingx merge" not in script:
        return [f"{where}: the merge Job must run `imagingx merge` through `sh -c`"]
    n_scan = scan_doc["spec"]["completions"]
    m = re.search(r"\bN=(\d+)", script)
    if not m:
        errors.append(f"{where}: no N=... in the merge command")
    elif int(m.group(1)) != n_scan:
        errors.append(f"{where}: the merge expects N={m.group(1)} parts but the scan Job has completions {n_scan}")
    if not re.search(r"-o\s+\"?/\S+/records\.(jsonl|csv)", script):
        errors.append(f"{where}: no `-o DIR/records.jsonl` in the merge command")
    claim = lambda d, c, path: (mounts_of(d, c).get(path, (None, {}))[1].get("persistentVolumeClaim") or {}).get("claimName")
    _, scan_container = script_of(scan_doc)
    if claim(doc, container, "/out") is None or claim(doc, container, "/out") != claim(scan_doc, scan_container, "/out"):
        errors.append(f"{where}: the merge's /out is not the scan Job's output claim")
    return errors


def validate(docs):
    """docs: {file name: parsed document}; returns [(check, problems)]."""
    results = []
    for name, doc in docs.items():
        results.append((f"{name}: Job and PodSpec fields, types and rules", check_job(doc, name)))
    scan = docs.get("imagingx-indexed-job.yaml")
    merge = docs.get("imagingx-merge-job.yaml")
    if scan is None or merge is None:
        results.append(("both manifests present", ["imagingx-indexed-job.yaml or imagingx-merge-job.yaml is missing"]))
        return results
    if not results[0][1] and not results[1][1]:
        results.append(("the Indexed Job's shard expression, N and volumes", check_scan_job(scan, "imagingx-indexed-job.yaml")))
        results.append(("the merge Job's N and output volume", check_merge_job(merge, scan, "imagingx-merge-job.yaml")))
    return results


SCHEMA_VERSIONS = ["1.25", "1.37"]


def schema_problems(docs, versions):
    """Strict validation against kubernetes-validate's bundled schemas: [(name, version, message)]."""
    import kubernetes_validate
    problems = []
    for name, doc in docs.items():
        for version in versions:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                where = ".".join(str(p) for p in e.path)
                problems.append((name, version, f"{where}: {e.message}"))
            except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.VersionNotSupportedError) as e:
                problems.append((name, version, e.message))
            except (TypeError, KeyError) as e:
                problems.append((name, version, f"not a Kubernetes object: {e}"))
    return problems


def load(folder):
    docs = {}
    for path in sorted(glob.glob(os.path.join(folder, "*.yaml"))):
        with open(path) as f:
            parsed = [d for d in yaml.safe_load_all(f) if d is not None]
        if len(parsed) != 1:
            raise SystemExit(f"FAIL {path}: expected one YAML document, found {len(parsed)}")
        docs[os.path.basename(path)] = parsed[0]
    return docs


def self_test(docs):
    """Each broken copy must be reported; returns the names of breakages that went unnoticed."""
    def scan_args(d, text):
        d["imagingx-indexed-job.yaml"]["spec"]["template"]["spec"]["containers"][0]["args"] = [text]

    def pod(d, f="imagingx-indexed-job.yaml"):
        return d[f]["spec"]["template"]["spec"]

    breakages = {
        "completions differ from the shard count": lambda d: d["imagingx-indexed-job.yaml"]["spec"].update(completions=5),
        "the merge's N differs": lambda d: d["imagingx-merge-job.yaml"]["spec"]["template"]["spec"]["containers"][0]
            .update(args=[pod(d, "imagingx-merge-job.yaml")["containers"][0]["args"][0].replace("N=4", "N=3")]),
        "completions given as a string": lambda d: d["imagingx-indexed-job.yaml"]["spec"].update(completions="4"),
        "an unknown field": lambda d: d["imagingx-indexed-job.yaml"]["spec"].update(completion=4),
        "restartPolicy Always": lambda d: pod(d).update(restartPolicy="Always"),
        "no image": lambda d: pod(d)["containers"][0].pop("image"),
        "a mount of no volume": lambda d: pod(d)["containers"][0]["volumeMounts"][0].update(name="nothing"),
        "a malformed quantity": lambda d: pod(d)["containers"][0]["resources"]["limits"].update(memory="2 GB"),
        "a request above its limit": lambda d: pod(d)["containers"][0]["resources"]["requests"].update(memory="3Gi"),
        "no shell, so the index is not expanded": lambda d: pod(d)["containers"][0].update(
            command=["imagingx"], args=["scan", "/data", "--shard", "${JOB_COMPLETION_INDEX}/4"]),
        "a fixed shard instead of the index": lambda d: scan_args(d, "exec imagingx scan /data --shard 0/4 --output /out/part-0.jsonl"),
        "the data mounted writable": lambda d: pod(d)["containers"][0]["volumeMounts"][0].pop("readOnly"),
        "not Indexed": lambda d: d["imagingx-indexed-job.yaml"]["spec"].pop("completionMode"),
        "an upper-case Job name": lambda d: d["imagingx-indexed-job.yaml"]["metadata"].update(name="ImagingX"),
        "parallelism above completions": lambda d: d["imagingx-indexed-job.yaml"]["spec"].update(parallelism=8),
    }
    unnoticed = []
    for what, breakage in breakages.items():
        broken = copy.deepcopy(docs)
        breakage(broken)
        if not any(problems for _, problems in validate(broken)):
            unnoticed.append(what)
    return len(breakages), unnoticed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", nargs="?", default=os.path.join(os.path.dirname(__file__), "..", "..", "deploy", "k8s"))
    ap.add_argument("--self-test", action="store_true", help="also require known breakages to be reported")
    ap.add_argument("--no-schema", action="store_true", help="skip the JSON schema (without kubernetes-validate)")
    a = ap.parse_args()
    docs = load(a.folder)
    failed = False
    if not a.no_schema:
        try:
            import kubernetes_validate  # noqa: F401
        except ImportError:
            print("FAIL kubernetes-validate is importable (pip install -r scripts/k8s/requirements.txt)")
            sys.exit(1)
        problems = schema_problems(docs, SCHEMA_VERSIONS)
        print(("ok   " if not problems else "FAIL ") +
              f"{', '.join(docs)}: strict JSON schema of Kubernetes {' and '.join(SCHEMA_VERSIONS)} (kubernetes-validate)")
        for name, version, message in problems:
            print(f"     {name} ({version}): {message}")
        failed |= bool(problems)
        if a.self_test:
            # The schema check itself must be able to fail: three copies, one fault each.
            faults = {
                "completions as a string": lambda d: d["spec"].update(completions="4"),
                "a port number as a string": lambda d: d["spec"]["template"]["spec"]["containers"][0].update(
                    ports=[{"containerPort": "8080"}]),
                "a misspelt field": lambda d: d["spec"]["template"]["spec"]["containers"][0].update(resourcez={}),
            }
            missed = []
            for what, fault in faults.items():
                scan = copy.deepcopy(docs["imagingx-indexed-job.yaml"])
                fault(scan)
                if not schema_problems({"imagingx-indexed-job.yaml": scan}, SCHEMA_VERSIONS[-1:]):
                    missed.append(what)
            print(("ok   " if not missed else "FAIL ") +
                  f"the schema rejects {len(faults) - len(missed)} of {len(faults)} broken copies ({', '.join(faults)})")
            failed |= bool(missed)
    for what, problems in validate(docs):
        print(("ok   " if not problems else "FAIL ") + what)
        for p in problems:
            print("     " + p)
        failed |= bool(problems)
    if a.self_test and not failed:
        count, unnoticed = self_test(docs)
        print(("ok   " if not unnoticed else "FAIL ") + f"{count - len(unnoticed)} of {count} broken copies reported")
        for u in unnoticed:
            print("     not reported: " + u)
        failed |= bool(unnoticed)
    print("an offline check (JSON schema and our rules), not the API server's validation")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
