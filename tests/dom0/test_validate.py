"""Validators: every accepted form, every rejection with its field and rule."""

from __future__ import annotations

import ipaddress
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dom0 import validate as v
from dom0.errors import ValidationError


def refused(func, *args, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        func(*args, **kwargs)
    return info.value


# --- domain names ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["freebsd", "web1", "a", "Vm_2.test-x", "a" * 64, " vm1 "])
def test_it_accepts_domain_names(name: str) -> None:
    assert v.domain_name(name) == name.strip()


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("", "must start with a letter"),
        ("1vm", "must start with a letter"),
        ("12345", "must start with a letter"),
        ("-vm", "must start with a letter"),
        ("vm 1", "may contain only"),
        ("vm/1", "may contain only"),
        ("vm;rm", "may contain only"),
        ("a" * 65, "at most 64 characters"),
        ("vmé", "may contain only"),
        ("web--incoming", "--incoming"),
        ("web--migratedaway", "--migratedaway"),
        ("Domain-0", "host's own domain"),
        ("domain-0", "host's own domain"),
    ],
)
def test_it_refuses_bad_domain_names(name: str, rule: str) -> None:
    err = refused(v.domain_name, name)
    assert err.field == "name"
    assert rule in err.rule


def test_it_uses_the_callers_field() -> None:
    assert refused(v.domain_name, "1", field="new_name").field == "new_name"
    assert refused(v.domain_name, 5).rule == "must be text"


@given(st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,40}", fullmatch=True))
def test_it_accepts_every_policy_name(name: str) -> None:
    if name.lower() != "domain-0" and not name.endswith(("--incoming", "--migratedaway")):
        assert v.domain_name(name) == name


@given(st.text(max_size=70))
def test_it_never_lets_unsafe_names_through(text: str) -> None:
    try:
        name = v.domain_name(text)
    except ValidationError as err:
        assert err.field == "name"
        return
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]{0,63}", name)
    assert not name.isdigit()


# --- datasets ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["zroot", "zroot/xen/vm1", "tank/a:b", "tank/x_y.z-1", "t" + "/a" * 127]
)
def test_it_accepts_dataset_names(name: str) -> None:
    assert v.dataset_name(name) == name


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("", "must not be empty"),
        ("/zroot", "empty components"),
        ("zroot/", "empty components"),
        ("zroot//a", "empty components"),
        ("zroot/./a", "'.' or '..'"),
        ("zroot/../a", "'.' or '..'"),
        ("zroot/vm@snap", "'@' or '#'"),
        ("zroot/vm#mark", "'@' or '#'"),
        ("zroot/my vm", "must not contain spaces"),
        ("zroot/vm$", "may contain only"),
        ("zroot/v\nm", "may contain only"),
        ("1pool/vm", "must start with a letter"),
        ("_pool/vm", "must start with a letter"),
        ("mirror/vm", "reserved"),
        ("raidz/vm", "reserved"),
        ("raidz2/vm", "reserved"),
        ("draid1/vm", "reserved"),
        ("spare/vm", "reserved"),
        ("log/vm", "reserved"),
        ("c0t0d0/vm", "reserved"),
        ("t" + "/a" * 128, "at most 255"),
    ],
)
def test_it_refuses_bad_dataset_names(name: str, rule: str) -> None:
    err = refused(v.dataset_name, name)
    assert err.field == "dataset"
    assert rule in err.rule


def test_it_requires_a_child_dataset_when_asked() -> None:
    err = refused(v.dataset_name, "zroot", "volume", require_child=True)
    assert (err.field, "inside a pool" in err.rule) == ("volume", True)
    assert v.dataset_name("zroot/v", require_child=True) == "zroot/v"


@pytest.mark.parametrize("leaf", ["vm1", "1disk", "a.b_c-d"])
def test_it_accepts_volume_leaves(leaf: str) -> None:
    assert v.volume_leaf(leaf) == leaf


@pytest.mark.parametrize("leaf", ["", "a/b", "a:b", "-a", ".a", "a b", "a@b", "x" * 65])
def test_it_refuses_bad_volume_leaves(leaf: str) -> None:
    err = refused(v.volume_leaf, leaf)
    assert err.field == "volume"
    assert "may contain only" in err.rule


# --- sizes -------------------------------------------------------------------------------------

G = 1 << 30


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20G", 20 * G),
        ("20g", 20 * G),
        ("20GB", 20 * G),
        ("20GiB", 20 * G),
        ("20gib", 20 * G),
        ("1536M", 1536 << 20),
        ("1.5g", 1536 << 20),
        ("1.50GB", 1536 << 20),
        (".5T", 512 * G),
        ("1.", 1),
        ("4096", 4096),
        ("4096B", 4096),
        ("1K", 1024),
        ("1P", 1 << 50),
        (" 8G ", 8 * G),
        (12345, 12345),
    ],
)
def test_it_reads_zfs_sizes(text: str | int, expected: int) -> None:
    assert v.size(text) == expected


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("", "must be a size"),
        ("G", "must be a size"),
        ("-1G", "must be a size"),
        ("1,5G", "must be a size"),
        ("1 G", "must be a size"),
        ("1e3", "must be a size"),
        ("1q", "invalid size suffix"),
        ("1X", "invalid size suffix"),
        ("1BB", "invalid size suffix"),
        ("1BiB", "invalid size suffix"),
        ("1GG", "invalid size suffix"),
        ("1Gi", "invalid size suffix"),
        ("0", "greater than zero"),
        ("0G", "greater than zero"),
        ("0.0001K", "greater than zero"),
        (0, "greater than zero"),
        ("2P", "at most 1P"),
        ("1Z", "at most 1P"),
        ("1E", "at most 1P"),
        (True, "must be a size"),
    ],
)
def test_it_refuses_bad_sizes(text: object, rule: str) -> None:
    err = refused(v.size, text)
    assert err.field == "size"
    assert rule in err.rule


def test_it_formats_sizes_in_the_shortest_exact_form() -> None:
    assert v.format_size(20 * G) == "20G"
    assert v.format_size(1536 << 20) == "1536M"
    assert v.format_size(1 << 50) == "1P"
    assert v.format_size(1000) == "1000"
    assert v.format_size(3 << 10) == "3K"
    with pytest.raises(ValueError):
        v.format_size(0)


@given(st.integers(min_value=1, max_value=v.MAX_SIZE))
def test_size_reads_back_what_format_size_writes(nbytes: int) -> None:
    assert v.size(v.format_size(nbytes)) == nbytes


@given(
    st.integers(min_value=1, max_value=1 << 20),
    st.sampled_from(["", "K", "M", "G", "k", "m", "g", "KB", "MiB", "gib"]),
)
def test_format_size_is_a_normal_form(number: int, suffix: str) -> None:
    nbytes = v.size(f"{number}{suffix}")
    assert v.size(v.format_size(nbytes)) == nbytes
    assert len(v.format_size(nbytes)) <= len(f"{number}{suffix}")


# --- paths -------------------------------------------------------------------------------------

ROOTS = ["/var/lib/xenpanel/iso", "/usr/local/etc/xen/xenpanel/"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/var/lib/xenpanel/iso/a.iso", "/var/lib/xenpanel/iso/a.iso"),
        ("/var/lib/xenpanel/iso//sub/./a.iso", "/var/lib/xenpanel/iso/sub/a.iso"),
        ("/usr/local/etc/xen/xenpanel/vm1.cfg", "/usr/local/etc/xen/xenpanel/vm1.cfg"),
    ],
)
def test_it_normalises_allowed_paths(path: str, expected: str) -> None:
    assert v.abs_path(path, "path", ROOTS) == expected


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        ("relative.iso", "absolute path"),
        ("/var/lib/xenpanel/iso/../../../etc/passwd", "'..'"),
        ("/var/lib/xenpanel/iso/a\x00b", "control characters"),
        ("/var/lib/xenpanel/iso/a\nb", "control characters"),
        ("/etc/rc.conf", "must be inside one of"),
        ("/var/lib/xenpanel/isofake/a", "must be inside one of"),
        ("/var/lib/xenpanel/iso", "must be inside one of"),
        (None, "must be text"),
    ],
)
def test_it_refuses_bad_paths(path: object, rule: str) -> None:
    err = refused(v.abs_path, path, "iso_path", ROOTS)
    assert err.field == "iso_path"
    assert rule in err.rule


def test_it_allows_the_root_itself_only_when_asked() -> None:
    assert v.abs_path("/var/lib/xenpanel/iso/", "p", ROOTS, allow_root=True) == (
        "/var/lib/xenpanel/iso"
    )


@pytest.mark.parametrize("name", ["freebsd.iso", "FreeBSD-14.1-RELEASE-amd64-bootonly.iso", "a+b"])
def test_it_accepts_file_names(name: str) -> None:
    assert v.file_name(name) == name


@pytest.mark.parametrize("name", ["", ".hidden", "-rf", "a/b", "a b", "..", "a\\b", "x" * 256])
def test_it_refuses_bad_file_names(name: str) -> None:
    err = refused(v.file_name, name, "iso_name")
    assert err.field == "iso_name"
    assert "may contain only" in err.rule


# --- URLs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://download.freebsd.org/releases/ISO-IMAGES/14.1/x.iso",
        "http://example.com:8080/a.iso?x=1",
        "ftp://ftp.freebsd.org/pub/x.iso",
        "HTTPS://Example.COM/a",
        "http://8.8.8.8/a.iso",
        "http://[2001:4860:4860::8888]/a.iso",
    ],
)
def test_it_accepts_public_urls(url: str) -> None:
    assert v.url(url) == url


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("file:///etc/passwd", "http://, https:// or ftp://"),
        ("gopher://x/", "http://, https:// or ftp://"),
        ("example.com/a.iso", "http://, https:// or ftp://"),
        ("http:///a.iso", "must name a host"),
        ("http://user:pw@example.com/a", "user name or password"),
        ("http://user@example.com/a", "user name or password"),
        ("http://example.com/a b", "without spaces"),
        ("http://example.com/a\nb", "without spaces"),
        ("http://example.com:99999/", "not a valid URL"),
        ("http://example.com:0/", "port 0"),
        ("http://exa_mple.com/", "invalid host name"),
        ("http://127.0.0.1/", "non-public"),
        ("http://127.1/", "non-public"),
        ("http://2130706433/", "non-public"),
        ("http://0x7f.0.0.1/", "non-public"),
        ("http://0177.0.0.1/", "non-public"),
        ("http://10.0.0.5/", "non-public"),
        ("http://172.16.0.1/", "non-public"),
        ("http://192.168.1.1/", "non-public"),
        ("http://169.254.169.254/latest/meta-data", "non-public"),
        ("http://100.64.0.1/", "non-public"),
        ("http://0.0.0.0/", "non-public"),
        ("http://224.0.0.1/", "non-public"),
        ("http://240.0.0.1/", "non-public"),
        ("http://[::1]/", "non-public"),
        ("http://[::]/", "non-public"),
        ("http://[fe80::1]/", "non-public"),
        ("http://[fc00::1]/", "non-public"),
        ("http://[ff02::1]/", "non-public"),
        ("http://[::ffff:127.0.0.1]/", "non-public"),
        ("http://[::ffff:10.1.2.3]/", "non-public"),
        ("http://localhost/", "non-public"),
        ("http://LOCALHOST./", "non-public"),
        ("http://foo.localhost/", "non-public"),
        ("http://256.1.1.1.1/", "invalid numeric host"),
        ("http://1.2.3.256/", "invalid numeric host"),
        ("http://[zz::1]/", "not a valid URL"),
        ("http://" + "a" * 2050, "at most 2048"),
    ],
)
def test_it_refuses_bad_urls(url: str, rule: str) -> None:
    err = refused(v.url, url)
    assert err.field == "url"
    assert rule in err.rule


def test_it_allows_private_hosts_when_asked() -> None:
    assert v.url("http://192.168.1.10/a.iso", allow_private=True)
    assert v.url("http://localhost:8000/a.iso", allow_private=True)


def test_it_redacts_credentials() -> None:
    assert v.redact_url("https://bob:s3cret@example.com/a") == "https://***@example.com/a"
    assert v.redact_url("https://example.com/a@b") == "https://example.com/a@b"
    assert v.redact_url("https://h.example/a.iso?token=SEKRET") == "https://h.example/a.iso?***"
    err = refused(v.url, "https://bob:s3cret@example.com/a")
    assert "s3cret" not in repr(err.value)


@given(st.ip_addresses())
def test_it_refuses_every_non_global_literal(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    host = f"[{ip}]" if ip.version == 6 else str(ip)
    try:
        v.url(f"http://{host}/x")
    except ValidationError:
        return
    assert ip.is_global


def test_it_checks_resolved_addresses() -> None:
    assert v.resolve_and_check("example.com", lambda h: ["93.184.216.34"]) == ["93.184.216.34"]
    err = refused(v.resolve_and_check, "evil.example", lambda h: ["8.8.8.8", "127.0.0.1"])
    assert (err.field, "resolves to 127.0.0.1" in err.rule) == ("url", True)
    assert "does not resolve" in refused(v.resolve_and_check, "x.example", lambda h: []).rule
    assert v.resolve_and_check("l", lambda h: ["::1"], allow_private=True) == ["::1"]


# --- network and console -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["bridge0", "bridge10", "br_lan1", "vlan.10"])
def test_it_accepts_bridge_names(name: str) -> None:
    assert v.bridge_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "bridge", "Bridge0", "0bridge", "br-0", "b" * 15 + "0", "a b0"]
)
def test_it_refuses_bad_bridge_names(name: str) -> None:
    err = refused(v.bridge_name, name)
    assert err.field == "bridge"
    assert "ending with a digit" in err.rule


def test_it_checks_interface_names() -> None:
    assert v.interface_name("em0") == "em0"
    err = refused(v.interface_name, "em0; reboot")
    assert (err.field, "interface name" in err.rule) == ("interface", True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("00:16:3E:74:34:32", "00:16:3e:74:34:32"), ("00-16-3e-00-00-01", "00:16:3e:00:00:01")],
)
def test_it_normalises_macs(text: str, expected: str) -> None:
    assert v.mac(text) == expected


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("00:16:3e:74:34", "six hex octets"),
        ("00:16:3e:74:34:3g", "six hex octets"),
        ("00:16-3e:74:34:32", "six hex octets"),
        ("0016.3e74.3432", "six hex octets"),
        ("01:00:5e:00:00:01", "unicast"),
        ("ff:ff:ff:ff:ff:ff", "unicast"),
        ("00:00:00:00:00:00", "must not be"),
    ],
)
def test_it_refuses_bad_macs(text: str, rule: str) -> None:
    err = refused(v.mac, text)
    assert err.field == "mac"
    assert rule in err.rule


def test_it_checks_vnc_listen() -> None:
    assert v.vnc_listen("0.0.0.0") == "0.0.0.0"  # noqa: S104
    assert v.vnc_listen("127.0.0.1") == "127.0.0.1"
    assert "IPv4 address such as" in refused(v.vnc_listen, "localhost").rule
    err = refused(v.vnc_listen, "::1")
    assert (err.field, "display number" in err.rule) == ("vnclisten", True)


@pytest.mark.parametrize("password", ["a", "s3cr3t!X", "~}|{`_^]"])
def test_it_accepts_vnc_passwords(password: str) -> None:
    assert v.vnc_password(password) == password


@pytest.mark.parametrize("password", ["", "123456789", "a b", 'a"b', "a'b", "a\\b", "pässwd", "\t"])
def test_it_refuses_bad_vnc_passwords(password: str) -> None:
    err = refused(v.vnc_password, password)
    assert err.field == "vncpasswd"
    assert "1 to 8 printable ASCII" in err.rule
    assert err.value is None  # never echo a password back


def test_it_checks_memory_and_vcpus() -> None:
    assert v.memory_mb("1024", 8192) == 1024
    assert v.memory_mb(32, 8192) == 32
    assert "at least 32" in refused(v.memory_mb, 16, 8192).rule
    assert "at most 8192" in refused(v.memory_mb, 8193, 8192).rule
    assert "whole number" in refused(v.memory_mb, "1G", 8192).rule
    assert "whole number" in refused(v.memory_mb, 1.5, 8192).rule
    assert refused(v.memory_mb, True, 8192).field == "memory"
    assert v.vcpus(4, 4) == 4
    assert v.vcpus("1", 4) == 1
    assert "at least 1" in refused(v.vcpus, 0, 4).rule
    assert "at most 4" in refused(v.vcpus, 5, 4).rule
    assert refused(v.vcpus, "-1", 4).field == "vcpus"


@pytest.mark.parametrize("dev", ["hda", "hdc", "xvda", "sdb"])
def test_it_accepts_vdevs(dev: str) -> None:
    assert v.vdev(dev) == dev


@pytest.mark.parametrize("dev", ["hd", "hda1", "vda", "xvdaa", "HDA", "hdc:cdrom"])
def test_it_refuses_bad_vdevs(dev: str) -> None:
    err = refused(v.vdev, dev)
    assert err.field == "vdev"
    assert "virtual device" in err.rule


# --- checksums ---------------------------------------------------------------------------------

H256 = "ab" * 32
H512 = "cd" * 64


def test_it_reads_checksums() -> None:
    assert v.sha256_hex(H256.upper()) == H256
    assert v.sha512_hex(H512) == H512
    assert v.checksum_spec(H256) == ("sha256", H256)
    assert v.checksum_spec(H512.upper()) == ("sha512", H512)
    assert v.checksum_spec(f"SHA256 (freebsd.iso) = {H256}") == ("sha256", H256)
    assert v.checksum_spec(f"SHA512 (freebsd.iso) = {H512}") == ("sha512", H512)
    assert v.checksum_spec(f"{H256}  freebsd.iso") == ("sha256", H256)
    assert v.checksum_spec(f"{H256} *freebsd.iso\n") == ("sha256", H256)


def test_it_picks_the_line_for_a_file() -> None:
    text = f"SHA256 (a.iso) = {H256}\nSHA256 (b.iso) = {'ef' * 32}\n"
    assert v.checksum_spec(text, file="b.iso") == ("sha256", "ef" * 32)
    assert "exactly one" in refused(v.checksum_spec, text).rule
    assert "no line for 'c.iso'" in refused(v.checksum_spec, text, file="c.iso").rule
    one = f"SHA256 (a.iso) = {H256}"
    assert "no line for 'b.iso'" in refused(v.checksum_spec, one, file="b.iso").rule
    assert v.checksum_spec(H256, file="b.iso") == ("sha256", H256)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("", "SHA-256 or SHA-512"),
        ("abc", "SHA-256 or SHA-512"),
        ("zz" * 32, "SHA-256 or SHA-512"),
        ("MD5 (a.iso) = " + "ab" * 16, "SHA-256 or SHA-512"),
        (f"SHA256 (a.iso) = {H512}", "SHA256 digest"),
        (f"{'ab' * 20}  a.iso", "SHA-256 or SHA-512"),
    ],
)
def test_it_refuses_bad_checksums(text: str, rule: str) -> None:
    err = refused(v.checksum_spec, text)
    assert err.field == "checksum"
    assert rule in err.rule


def test_it_refuses_bad_hex_digests() -> None:
    assert refused(v.sha256_hex, H512).field == "sha256"
    assert "64 hex digits" in refused(v.sha256_hex, "g" * 64).rule
    assert "128 hex digits" in refused(v.sha512_hex, H256).rule


def test_it_caps_memory_and_vcpus_at_what_xen_gives_a_domu() -> None:
    assert v.memory_mb(v.MAX_MEMORY_MB) == v.MAX_MEMORY_MB
    assert "16 TiB" in refused(v.memory_mb, v.MAX_MEMORY_MB + 1, 10**12).rule
    assert "at most 128 (Xen's limit" in refused(v.vcpus, 129, 512).rule
    assert v.MAX_MEMORY_MB < 2**31 and v.MAX_SIZE < 2**63  # the columns hold them
