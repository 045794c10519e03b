"""The Airflow contender: Apache Airflow's amazon provider driving the benchmark's runs
the way its operators do, one task (a thread here) per run, with the operators' defaults.

    <airflow venv>/bin/python benchmarks/airflow_contender.py RUNS_FILE RESULTS_FILE

Runs with the Python of the environment `benchmarks.airflow` builds (apache-airflow and
apache-airflow-providers-amazon, never the test environment), against whatever
AWS_ENDPOINT_URL and the AWS_* variables say. It imports nothing of polysync.

RUNS_FILE lines are baseline.sh's: `batch JOB_NAME QUEUE DEFINITION INDEX` or
`glue JOB_NAME INDEX`. Each run is one task:

- Batch, as `BatchOperator.execute` with its defaults (not deferrable, no waiters, no
  awslogs): `submit_job` (SubmitJob), `monitor_job`: `_persist_links` (DescribeJobs),
  `BatchClientHook.wait_for_job` (a random 1-10 s delay, then DescribeJobs with
  exponential back-off until RUNNING, the same until SUCCEEDED or FAILED),
  `_persist_cloudwatch_link` (DescribeJobs: a task's context has a `ti` and
  `do_xcom_push` is on by default), `check_job_success` (DescribeJobs).
- Glue, as `GlueJobOperator.execute` with its defaults (not deferrable, wait for
  completion, `job_poll_interval` 6 s, not verbose): `GlueJobHook.initialize_job` (GetJob,
  StartJobRun), then `GlueJobHook.job_completion` (GetJobRun every 6 s).

Writes to RESULTS_FILE one line per run that the hook has seen end, as baseline.sh
prints them: its id, its state and the wall clock then (epoch seconds); a task that
raised is named on stderr. The hooks log to stdout, as in an Airflow task.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time


def batch_task(name: str, queue: str, definition: str, index: str, out: list[str]) -> None:
    from airflow.providers.amazon.aws.hooks.batch_client import (  # type: ignore[import-not-found]
        BatchClientHook,
    )

    hook = BatchClientHook(
        aws_conn_id=None
    )  # the operator's: max_retries and status_retries default
    job_id = hook.client.submit_job(
        jobName=name, jobQueue=queue, jobDefinition=definition, parameters={"i": index}
    )["jobId"]
    hook.get_job_description(job_id)  # _persist_links
    hook.wait_for_job(job_id)
    seen = time.time()
    job = hook.get_job_description(job_id)  # _persist_cloudwatch_link
    state = str(job.get("status"))
    # A failed job fails the task (it raises); the benchmark records its state.
    with contextlib.suppress(Exception):
        hook.check_job_success(job_id)
    out.append(f"{job_id} {state} {seen:.6f}")


def glue_task(job_name: str, index: str, out: list[str]) -> None:
    from airflow.providers.amazon.aws.hooks.glue import GlueJobHook  # type: ignore[import-not-found]

    hook = GlueJobHook(aws_conn_id=None, job_name=job_name)  # job_poll_interval: 6 s
    run_id = hook.initialize_job({"--i": index}, {})["JobRunId"]
    try:
        state = hook.job_completion(job_name, run_id)["JobRunState"]
    except Exception as exc:  # FAILED and TIMEOUT raise
        state = str(exc).rsplit(" ", 1)[-1]
    out.append(f"{run_id} {state} {time.time():.6f}")


def main(runs_file: str, results_file: str) -> int:
    out: list[str] = []
    errors: list[str] = []

    def task(kind: str, fields: list[str]) -> None:
        try:
            if kind == "batch":
                name, queue, definition, index = fields[:4]
                batch_task(name, queue, definition, index, out)
            else:
                job_name, index = fields[:2]
                glue_task(job_name, index, out)
        except Exception as exc:  # an Airflow task that failed: reported, not hidden
            errors.append(f"ERROR {kind} {' '.join(fields)}: {exc.__class__.__name__}: {exc}")

    threads = []
    with open(runs_file, encoding="utf-8") as lines:
        for line in lines:
            kind, *fields = line.split()
            thread = threading.Thread(target=task, args=(kind, fields), daemon=True)
            thread.start()
            threads.append(thread)
    for thread in threads:
        thread.join()
    with open(results_file, "w", encoding="utf-8") as results:
        results.writelines(f"{line}\n" for line in out)
    for line in errors:
        print(line, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
