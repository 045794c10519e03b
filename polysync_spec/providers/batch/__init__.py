"""AWS Batch: `spec` (statuses, SubmitJob, definitions and queues), `platform` (pre-flight
checks, limits, dependsOn), `client` (the only code that calls Batch)."""
