"""Platforms: one package per platform behind the protocols of `base`.

- `base`: the vocabulary (statuses, tiers, requests) and the `Platform` (pure) and
  `PlatformClient` / `RunClient` (AWS calls) protocols.
- `registry`: the platforms' pure parts, by manifest type and service, and every rule.
- `clients`: the platforms' clients, built from `aws.Sessions`; the only modules that
  call AWS are each platform's client modules, `aws`, `credentials` and `logs`.
- `denials`: calls IAM refuses, remembered per client; `permissions` and `iam`: what each
  command needs (`polysync iam`).
- `glue/`, `batch/`: `spec` (statuses, requests, run ids, console URLs), `platform`
  (pre-flight, fingerprints, limits), `rules` (validate), `permissions`, `client` and
  the modules it reads through, `inventory` (discover), Glue's `importing`.
"""
