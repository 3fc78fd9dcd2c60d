#!/usr/bin/env bash
# Submits a sharded ImagingX run to Slurm: an array of N tasks (one shard each) and a merge job
# that starts only when every task has succeeded.
#   deploy/slurm/submit.sh ROOT OUTDIR N [imagingx options, e.g. --stats --format csv]
# Prints the two job ids:
#   array_job_id=1234
#   merge_job_id=1235
# The result is OUTDIR/records.jsonl (records.csv; index.sqlite with IMAGINGX_COMMAND=index);
# the tasks' logs are in OUTDIR/logs.
# Environment:
#   IMAGINGX             the imagingx binary (default: `imagingx` on PATH); must be reachable from the nodes
#   IMAGINGX_COMMAND     scan (default) or index
#   IMAGINGX_SBATCH_OPTS more sbatch options for both jobs, e.g. "--partition=short --account=lab
#                        --cpus-per-task=8"; they override the scripts' #SBATCH lines
#   IMAGINGX_ARRAY_LIMIT at most this many tasks at once (--array=0-(N-1)%LIMIT)
set -euo pipefail

if [ $# -lt 3 ]; then
  echo "usage: $0 ROOT OUTDIR N [imagingx options]" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
[ -d "$1" ] || { echo "submit: $1 is not a directory" >&2; exit 2; }
root=$(cd "$1" && pwd)
mkdir -p "$2/logs"
outdir=$(cd "$2" && pwd)
shards=$3
shift 3
case "$shards" in ''|*[!0-9]*|0) echo "submit: N must be a positive integer, not '$shards'" >&2; exit 2 ;; esac
command=${IMAGINGX_COMMAND:-scan}
case "$command" in scan|index) ;; *) echo "submit: IMAGINGX_COMMAND must be scan or index" >&2; exit 2 ;; esac
binary=${IMAGINGX:-imagingx}
# An absolute path for the binary, so that the jobs run the one checked here.
if [[ "$binary" != /* ]]; then
  resolved=$(command -v "$binary") || { echo "submit: $binary not found" >&2; exit 2; }
  binary=$resolved
fi
export IMAGINGX=$binary IMAGINGX_COMMAND=$command
read -r -a sbatch_opts <<<"${IMAGINGX_SBATCH_OPTS:-}"
array="0-$((shards - 1))"
if [ -n "${IMAGINGX_ARRAY_LIMIT:-}" ]; then
  case "$IMAGINGX_ARRAY_LIMIT" in *[!0-9]*|0) echo "submit: IMAGINGX_ARRAY_LIMIT must be a positive integer" >&2; exit 2 ;; esac
  array="$array%$IMAGINGX_ARRAY_LIMIT"
fi

# --parsable prints "jobid" or "jobid;cluster".
array_id=$(sbatch --parsable --array="$array" "${sbatch_opts[@]}" \
  --output="$outdir/logs/imagingx-shard-%A_%a.out" --error="$outdir/logs/imagingx-shard-%A_%a.err" \
  "$here/imagingx-array.sbatch" "$root" "$outdir" "$shards" "$@")
array_id=${array_id%%;*}
merge_id=$(sbatch --parsable --dependency="afterok:$array_id" --kill-on-invalid-dep=yes "${sbatch_opts[@]}" \
  --output="$outdir/logs/imagingx-merge-%j.out" --error="$outdir/logs/imagingx-merge-%j.err" \
  "$here/imagingx-merge.sbatch" "$outdir" "$shards" "$@")
merge_id=${merge_id%%;*}
echo "array_job_id=$array_id"
echo "merge_job_id=$merge_id"
