"""Import a domU the host runs but the panel does not know (from its config or `xl list -l`)."""

from typing import Any

from django.db import transaction

from dom0 import commands, parsers
from dom0.errors import RemoteFileMissing
from domains import actions, cfg, records
from domains.jobs.common import XL_TIMEOUT, read_back
from domains.models import Domain
from hosts.models import Host
from jobs.context import JobContext, StepFailed, tail
from jobs.registry import job_kind


@job_kind(actions.IMPORT)
def import_domain(ctx: JobContext) -> str:
    """Adopt a domU found on the host: its config file, or failing that `xl list -l`."""
    host: Host = ctx.target("host")
    assert host is not None
    name = str(ctx.job.params.get("name", ""))
    if Domain.objects.filter(host=host, name=name).exists():
        return f"{name} is already managed"
    path = cfg.config_path(host.config_dir, name)
    text = _read_config(ctx, path)
    source = path
    if text is None:
        details = _read_live_config(ctx, name)
        if not details:
            raise StepFailed(f"{name} is not on the host any more.")
        text = cfg.render(_config_from_detail(ctx, details[0]))
        source = "xl list -l"
    parsed = cfg.parse(text, source=source)
    values = cfg.summary(parsed)
    domain = Domain(
        host=host,
        name=name,
        owner=ctx.job.requested_by,
        memory_mb=int(values["memory_mb"]),  # type: ignore[call-overload]
        vcpus=int(values["vcpus"]),  # type: ignore[call-overload]
        imported=True,
    )
    with transaction.atomic():
        domain.save()
        clashes = records.nic_clashes(domain, text)
        records.add_version(
            domain, text, author=ctx.job.requested_by, note=f"Imported from {source}"
        )
    _note_macs(ctx, parsed, clashes)
    read_back(ctx, domain)
    return f"Imported {name} from {source}"


def _note_macs(ctx: JobContext, parsed: Any, clashes: list[str]) -> None:
    """Imported domUs keep their MACs as they are; say which are not fixed or not unique."""
    random = [str(i) for i, vif in enumerate(parsed.vifs) if not vif.mac]
    if random:
        ctx.note(
            "NICs without a fixed MAC",
            f"NIC {', '.join(random)} has no mac= in its vif: xl picks a random MAC at each "
            "start. The file was left as it is; fix one in the domU's edit page.",
        )
    if clashes:
        ctx.note(
            "MACs held by other domUs",
            f"{', '.join(clashes)} is also the MAC of another domU of the panel; two NICs with "
            "one MAC on a network break both. Give this one a new MAC in the edit page.",
        )


def _read_config(ctx: JobContext, path: str) -> str | None:
    with ctx.step(f"Read {path}") as record:
        try:
            text = ctx.transport.read_file(path).decode("utf-8", "replace")
        except RemoteFileMissing:
            record.output = "no such file; falling back to xl list -l"
            return None
        # Register the passwords before anything of the text is recorded.
        for password in cfg.passwords(text):
            ctx.secret(password)
        record.output = ctx.redact(cfg.mask_password(text))
        return text


def _read_live_config(ctx: JobContext, name: str) -> list[parsers.DomainDetail]:
    """Run `xl list -l` as a step whose recorded output never shows the VNC password.

    Not `ctx.run`: that records the output before the caller could read the password out of it.
    """
    argv = commands.xl_list_long(name)
    ctx.check_cancelled()
    with ctx.step(f"Read {name}'s live config (xl list -l)", argv) as record:
        result = ctx.transport.run(argv, timeout=XL_TIMEOUT)
        record.rc, record.seconds = result.rc, round(result.seconds, 3)
        out = "\n".join(t.rstrip() for t in (result.stdout, result.stderr) if t)
        record.output = tail(cfg.mask_json_passwords(out))
        if result.rc != 0:
            raise parsers.classify_error(list(argv), result.rc, result.stdout, result.stderr)
        details = parsers.parse_xl_list_long(result.stdout)
        for detail in details:
            if detail.vnc and detail.vnc.password:
                ctx.secret(detail.vnc.password)
        record.output = ctx.redact(record.output)
    return details


def _config_from_detail(ctx: JobContext, detail: parsers.DomainDetail) -> Any:
    from dom0.xlcfg import DiskSpec, DomainConfig, VifSpec

    disks = tuple(
        DiskSpec(
            vdev=d.vdev,
            target=d.pdev_path,
            format=d.format if d.pdev_path else "empty",
            access="rw" if d.readwrite else "r",
            cdrom=d.is_cdrom,
        )
        for d in detail.disks
    )
    vnc = detail.vnc
    password = vnc.password if vnc else None
    if vnc and vnc.password_set and not password:
        # Never write a config without the password the domU had: at the next start its console
        # would be open to anyone who reaches the port.
        password = cfg.generate_password()
        ctx.secret(password)
        ctx.note(
            "New VNC password",
            f"xl list -l did not show {detail.name}'s VNC password; the imported config has a "
            "new one (reveal it on the domU's page). It takes effect at the next start.",
        )
    return DomainConfig(
        name=detail.name,
        memory=detail.max_memory_mib or detail.memory_mib,
        vcpus=detail.max_vcpus or 1,
        builder=detail.type or "hvm",
        disks=disks,
        vifs=tuple(VifSpec(bridge=n.bridge, mac=n.mac) for n in detail.nics),
        vnc=vnc.enable if vnc else None,
        vnclisten=vnc.listen if vnc else None,
        vncdisplay=vnc.display if vnc and vnc.findunused is False else None,
        vncunused=vnc.findunused if vnc else None,
        vncpasswd=password or None,
    )
