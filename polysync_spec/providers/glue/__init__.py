"""AWS Glue: `spec` (statuses, run ids, StartJobRun), `platform` (pre-flight checks and
limits), `client` (the only code that calls Glue), `importing` (jobs into manifests)."""
