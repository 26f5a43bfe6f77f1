"""Pure logic: config building, VNC details, diffs, reboot detection (no DB, no I/O)."""

# ruff: noqa: S104 (0.0.0.0 here is a vnclisten value in a config, not a socket we bind)

from __future__ import annotations

from types import SimpleNamespace

from domains import cfg, history, observe, vnc

SETTINGS = cfg.Settings(
    name="freebsd",
    memory_mb=1024,
    vcpus=1,
    disk_path="/dev/zvol/zroot/xen/freebsd-disk0",
    iso_path="/var/lib/xenpanel/isos/fb.iso",
    bridge="bridge0",
    vnc_listen="0.0.0.0",
    vnc_display=3,
    vnc_password="Ab3dEf7h",
)


def test_it_builds_the_handbook_config_with_a_fixed_vnc_display():
    text = cfg.render(cfg.build(SETTINGS))
    assert "'format=raw, vdev=hda, access=rw, target=/dev/zvol/zroot/xen/freebsd-disk0'," in text
    assert (
        "'format=raw, vdev=hdc, access=r, devtype=cdrom, target=/var/lib/xenpanel/isos/fb.iso',"
        in text
    )
    for line in (
        'type = "hvm"',
        "memory = 1024",
        "vncdisplay = 3",
        "vncunused = 0",
        'serial = "pty"',
        'usbdevice = "tablet"',
        "'bridge=bridge0',",
    ):
        assert line in text
    summary = cfg.summary(cfg.parse(text))
    assert summary["vnc_display"] == 3 and summary["iso_path"] == SETTINGS.iso_path


def test_it_removes_only_the_cdrom_when_the_install_is_finished():
    text = cfg.render(cfg.build(SETTINGS))
    after = cfg.without_cdrom(text)
    assert cfg.has_cdrom(text) and not cfg.has_cdrom(after)
    assert "vdev=hda" in after and "fb.iso" not in after
    assert cfg.parse(after).vncdisplay == 3


def test_it_masks_the_password_and_hands_out_free_displays():
    text = cfg.render(cfg.build(SETTINGS))
    assert "Ab3dEf7h" not in cfg.mask_password(text)
    assert cfg.next_display([None, 1, 2, 4]) == 3
    assert cfg.next_display(range(1, 100)) is None
    password = cfg.generate_password()
    assert len(password) == 8 and password.isalnum()


def test_it_gives_vnc_details_for_wildcard_and_loopback_listeners():
    wild = vnc.details(listen="0.0.0.0", display=3, host_address="xen1.lan")
    assert wild.address == "xen1.lan" and wild.port == 5903
    assert wild.url == "vnc://xen1.lan:5903" and wild.viewer == "vncviewer xen1.lan::5903"
    assert wild.tunnel == "ssh -N -L 5903:127.0.0.1:5903 root@xen1.lan"
    loop = vnc.details(listen="127.0.0.1", display=1, host_address="10.0.0.5", ssh_port=2222)
    assert loop.address == "127.0.0.1" and loop.loopback_only
    assert loop.tunnel == "ssh -N -L 5901:127.0.0.1:5901 -p 2222 root@10.0.0.5"
    assert vnc.details(listen="0.0.0.0", display=None, host_address="x") is None


def test_it_diffs_versions_line_by_line():
    old = cfg.render(cfg.build(SETTINGS))
    lines = history.diff(old, cfg.without_cdrom(old), old_label="version 1", new_label="version 2")
    kinds = [line.kind for line in lines]
    assert kinds[:2] == ["file", "file"] and kinds.count("del") == 1 and "add" not in kinds
    assert all("Ab3dEf7h" not in line.text for line in lines)


def test_it_notices_a_dom0_reboot_from_cpu_time_or_domain_ids():
    before = {"dom0_cpu_seconds": 900.0, "domains": [{"name": "a", "domid": 7}]}
    assert "CPU time went back" in observe.rebooted(before, [], 12.0)
    rows = [{"name": "a", "domid": 2}]
    assert "lower domain id" in observe.rebooted(before, rows, 950.0)
    assert observe.rebooted(before, [{"name": "a", "domid": 7}], 950.0) is None
    assert observe.rebooted({}, rows, 1.0) is None


def test_it_orders_autostart_candidates_and_skips_running_or_stopped_ones():
    def dom(name, order, autostart=True, should_run=True):
        return SimpleNamespace(
            name=name, autostart_order=order, autostart=autostart, should_run=should_run
        )

    domains = [
        dom("c", 2),
        dom("a", 5),
        dom("b", 2),
        dom("off", 1, should_run=False),
        dom("manual", 1, autostart=False),
        dom("up", 1),
    ]
    picked = observe.autostart_candidates(domains, present={"up"})
    assert [d.name for d in picked] == ["b", "c", "a"]
