"""Platforms: one package per platform behind the protocols of `base`.

- `base`: the vocabulary (statuses, tiers, requests) and the `Platform` (pure) and
  `PlatformClient` / `RunClient` (AWS calls) protocols.
- `registry`: the platforms' pure parts, by manifest type and service, and every rule.
- `clients`: the platforms' clients, built from `aws.Sessions`; the only modules that
  call AWS are each platform's client modules, `aws`, `credentials` and `logs`.
- `denials`: calls IAM refuses, remembered per client; `permissions` and `iam`: what each
  command needs (`polysync iam`).
- `cost`: prices (`data/prices.json`, `--price-file`), billing units and the arithmetic
  every platform's cost shares.
- `glue/`, `batch/`: `spec` (statuses, requests, run ids, console URLs), `platform`
  (pre-flight, fingerprints, limits), `rules` (validate), `permissions`, `cost` (what a
  run costs, and used), `client` and the modules it reads through (Batch's `usage` for
  its cost figures), `inventory` (discover), Glue's `importing`.
"""
