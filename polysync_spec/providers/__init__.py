"""Platforms: one package per platform behind the two protocols of `base`.

- `base`: the vocabulary (statuses, tiers, requests) and the `Platform` (pure) and
  `PlatformClient` (AWS calls) protocols.
- `registry`: the platforms' pure parts, by manifest type and service.
- `clients`: the platforms' clients, built from `aws.Sessions`; the only modules that
  call AWS are each platform's `client` module, `aws` and `credentials`.
- `glue/`, `batch/`: `spec` (statuses, requests, run ids, console URLs), `platform`
  (pre-flight, fingerprints, limits), `client` (the AWS calls), `importing`.
"""
