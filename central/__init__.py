"""The central court server: receive (verify) → store → reconcile.

Modules, in the order data passes through them:

- `config`      CentralSettings from `<home>/config.toml`, loaded once
- `home`        init a home; `open_central(settings)` → `Central` (repo, store, keys)
- `keys`        central's Ed25519 signing key and X25519 HPKE key; the identity file
- `appliances`  enrolment: which Ed25519 key signs for which appliance id
- `app`         `create_app(settings)` → Litestar (routers, DI, the one error mapping)
- `receive/`    PUT/HEAD blobs, POST manifests → signed receipts (controllers, services, checks)
- `storage`     `BlobStore` protocol, `LocalBlobStore` (content-addressed, durable)
- `repository`  every query, over the SQLAlchemy Core schema in `db`
- `reconcile/`  the report (declared vs received, sequence gaps) and the integrity check
- `pages`       opening one stored page with the HPKE key (verify, export)
- `cli`         `juanzong central init|enroll|serve|report|verify|export-page`
"""
