"""`edge lockdown`: the appliance's OS profile, rendered from its settings and device profiles.

Stages, in order (one small typed value between them):

    inputs.gather      settings + appliance/scanner/printer profiles → `LockdownInputs`
    systemd.render     hardened units for `edge run` (which also serves the kiosk) and the OCR worker,
                       the hourly timer that keeps the registered-media udev rules in step,
                       the tmpfs mount for the hot folder + spool, swap off, the service user
    nftables.render    egress only to the court networks, the printer, the court's resolvers
    udev.render        USB mass storage refused but registered media (by filesystem UUID); scanner/printer admitted
    install.write      the files under `--out` (a tree mirroring `/`) + `plan.json`
    checks.run         `systemd-analyze security --offline=true` (exposure ≤ 2.0), `nft -c -f`, udev rules parsed by `udevadm`
    install.apply      `--apply`: copy into the root and run the plan's commands (root only)
    media_rules        afterwards: `edge media init` / `edge media rules` re-render the registered-media rules
"""
