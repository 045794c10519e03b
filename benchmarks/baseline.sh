#!/usr/bin/env bash
# The baseline: the apply a user would otherwise write with the AWS CLI. Submit each run,
# then poll each one (describe-jobs / get-job-run per run) every INTERVAL seconds until
# all have ended. Prints one line per run as it ends: its id, state, and when it was seen.
#
#   baseline.sh RUNS_FILE INTERVAL
#
# RUNS_FILE lines: `batch JOB_NAME QUEUE DEFINITION INDEX` or `glue JOB_NAME INDEX`.
# The AWS CLI on PATH talks to whatever AWS_ENDPOINT_URL and the AWS_* variables say.
set -euo pipefail

runs_file=$1
interval=$2
pending=()

while read -r kind a b c d; do
  if [ "$kind" = batch ]; then
    id=$(aws batch submit-job --job-name "$a" --job-queue "$b" --job-definition "$c" \
      --parameters "{\"i\": \"$d\"}" --query jobId --output text)
    pending+=("batch:$id:-")
  else
    id=$(aws glue start-job-run --job-name "$a" --arguments "{\"--i\": \"$b\"}" \
      --query JobRunId --output text)
    pending+=("glue:$a:$id")
  fi
done <"$runs_file"

while [ ${#pending[@]} -gt 0 ]; do
  sleep "$interval"
  still=()
  for entry in "${pending[@]}"; do
    IFS=: read -r kind x y <<<"$entry"
    if [ "$kind" = batch ]; then
      status=$(aws batch describe-jobs --jobs "$x" --query 'jobs[0].status' --output text)
      case $status in
        SUCCEEDED | FAILED) echo "$x $status $EPOCHREALTIME" ;;
        *) still+=("$entry") ;;
      esac
    else
      status=$(aws glue get-job-run --job-name "$x" --run-id "$y" \
        --query 'JobRun.JobRunState' --output text)
      case $status in
        SUCCEEDED | FAILED | STOPPED | TIMEOUT | ERROR | EXPIRED) echo "$y $status $EPOCHREALTIME" ;;
        *) still+=("$entry") ;;
      esac
    fi
  done
  pending=("${still[@]+"${still[@]}"}")
done
