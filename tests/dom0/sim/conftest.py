from __future__ import annotations

from pathlib import Path

import pytest

from dom0.sim import SimHost, seed_host

HANDBOOK_CFG = """\
builder = "hvm"
name = "{name}"
memory = {memory}
vcpus = {vcpus}
vif = [ 'bridge=bridge0' ]
disk = [
'/dev/zvol/zroot/xen/{name}-disk0,raw,hda,rw',
'/root/freebsd.iso,raw,hdc:cdrom,r'
  ]
vnc = 1
vnclisten = "0.0.0.0"
serial="pty"
usbdevice="tablet"
"""


@pytest.fixture
def host(tmp_path: Path) -> SimHost:
    sim = seed_host(tmp_path / "xen1")
    sim.path("/root/freebsd.iso").write_bytes(b"CD001")
    return sim


def write_domu(host: SimHost, name: str = "freebsd", memory: int = 1024, vcpus: int = 1) -> str:
    """Create the domU's volume and write its handbook-style config; return the config path."""
    assert host.run(["zfs", "create", "-V", "1G", f"zroot/xen/{name}-disk0"]).rc == 0
    cfg = f"/usr/local/etc/xen/{name}.cfg"
    host.path(cfg).write_text(HANDBOOK_CFG.format(name=name, memory=memory, vcpus=vcpus))
    return cfg
