"""Parsers and error classes for moving domUs between Dom0s (issue 14), and the pre-migration
checklist (`dom0.migration_checks`).

Samples and their sources (docs/migration-cli-facts.md has the lines):

- `zfs send -nvP`: `full\\t<snap>\\t<bytes>`, `incremental\\t<from>\\t<snap>\\t<bytes>`,
  `size\\t<bytes>` (openzfs/zfs libzfs_sendrecv.c `send_print_verbose`, `estimate_size`; the
  OpenZFS test send-c_stream_size_estimate.ksh reads `$2 == ds {print $3}`); derived.
- `zfs send -v[P]` progress: `HH:MM:SS\\t<bytes>\\t<snap>` (`send_progress_thread`); derived.
- zfs recv/send errors: captured in jimsalterjrs/sanoid issues #568 (`has been modified` /
  `since most recent snapshot`, `warning: cannot send '…': Broken pipe`), #1067 (`contains
  partially-complete state`, a real resume token), #46, and a captured syncoid log
  (`checksum mismatch or incomplete stream.` + `zfs send -t <token>`, `cannot receive: failed to
  read from stream`); `destination '…' exists` / `must specify -F to overwrite it` derived from
  libzfs_sendrecv.c `zfs_receive_one`.
- xl migrate: the lines of xen tools/xl/xl_migrate.c, xl_saverestore.c, xl_vmcontrol.c, libxl
  and libxc (derived); ssh errors as OpenSSH 9.2p1 printed them here (`ssh: connect to host …
  port …: Connection refused`).
"""

from __future__ import annotations

import dataclasses

import pytest

from dom0 import errors
from dom0 import parsers as p
from dom0.migration_checks import FAIL, PASS, WARN, blocking, check_receiver
from dom0.migration_errors import (
    IncrementalMismatch,
    MigrationDiskMissing,
    MigrationFailed,
    MigrationHostKeyRejected,
    MigrationReceiverMissing,
    MigrationStateUnknown,
    MigrationTargetOutOfMemory,
    MigrationTargetUnreachable,
    PartialReceiveExists,
    ReceiveTargetExists,
    ResumeTokenInvalid,
    SendInterrupted,
    StreamIncomplete,
)
from dom0.parsers import MigrationOutcome as Outcome
from dom0.parsers import MigrationPhase as Phase

TOKEN = (
    "1-12d8a81572-118-789c636064000310a501c49c50360710a715e5e7a69766a63040412473cd1603ffb4490a"
    "40363b92bafca4acd4e412081f0430e4d3d28a534b18e00024cf86249f5459925acc802a8facbf241fe28a0949"
    "3a9fdd1e16322420c97382e5f312735319188a53f352f4814695e8e718c41be8e718c61be9e718c51b391457e6"
    "25e767a6c4e71765e6e7c51b191899ea1a98009195a1a5958191958185aebb6f88ae81a9958101cc0d00f05e2b86"
)

# --- zfs send -nvP -----------------------------------------------------------------------------


def test_it_parses_a_full_estimate() -> None:
    est = p.parse_zfs_send_estimate("full\ttank/xen/vm1@m1\t1073741824\nsize\t1073741824\n")
    assert est.total_bytes == 1073741824 and est.exact
    assert est.streams == (p.SendStream("full", "tank/xen/vm1@m1", None, 1073741824),)


def test_it_parses_incremental_estimates_of_both_paths() -> None:
    one = p.parse_zfs_send_estimate(
        "incremental\ttank/xen/vm1@m1\ttank/xen/vm1@m2\t52428800\nsize\t52428800\n"
    )
    assert one.streams[0].from_snapshot == "tank/xen/vm1@m1"
    assert one.streams[0].snapshot == "tank/xen/vm1@m2"
    # -R / -I go through dump_snapshot, which names the base by its short name.
    many = p.parse_zfs_send_estimate(
        "full\ttank/xen/vm1@m1\t4096\nincremental\tm1\ttank/xen/vm1@m2\t8192\nsize\t12288\n"
    )
    assert many.total_bytes == 12288 and [s.kind for s in many.streams] == ["full", "incremental"]
    # No size line (cut short): the streams add up.
    assert p.parse_zfs_send_estimate("full\ttank/v@a\t10\nfull\ttank/w@a\t5\n").total_bytes == 15


def test_it_skips_resume_token_contents_and_warnings() -> None:
    text = (
        "resume token contents:\n"
        "nvlist version: 0\n"
        "\tobject = 0x7\n"
        "\toffset = 0x14000\n"
        "\tbytes = 0x2c000\n"
        "\ttoname = tank/xen/vm1@m1\n"
        "full\ttank/xen/vm1@m1\t946176\n"
        "size\t946176\n"
    )
    assert p.parse_zfs_send_estimate(text).total_bytes == 946176


def test_it_reads_the_human_estimate_roughly() -> None:
    est = p.parse_zfs_send_estimate(
        "full send of tank/xen/vm1@m1 estimated size is 1.50G\ntotal estimated size is 1.50G\n"
    )
    assert not est.exact and est.total_bytes == int(1.5 * (1 << 30))
    incr = p.parse_zfs_send_estimate("send from @m1 to tank/xen/vm1@m2 estimated size is 512K\n")
    assert incr.streams[0].from_snapshot == "@m1" and incr.total_bytes == 512 << 10


@pytest.mark.parametrize(
    "text", ["", "cannot open 'tank/x@y': dataset does not exist\n", "size\tlots\n", "full\ta\tb\n"]
)
def test_it_refuses_no_estimate(text: str) -> None:
    with pytest.raises(errors.ParseError):
        p.parse_zfs_send_estimate(text)


# --- zfs send progress -------------------------------------------------------------------------

SEND_STDERR = (
    "full\ttank/xen/vm1@m1\t1073741824\n"
    "size\t1073741824\n"
    "10:21:03\t104857600\ttank/xen/vm1@m1\n"
    "10:21:04\t220200960\ttank/xen/vm1@m1\n"
)


def test_it_reads_parsable_progress_lines() -> None:
    got = [p.parse_zfs_send_progress(line) for line in SEND_STDERR.splitlines()]
    assert got == [None, None, 104857600, 220200960]
    detail = p.read_zfs_send_progress("10:21:04\t220200960\ttank/xen/vm1@m1\n")
    assert detail == p.SendProgress("10:21:04", 220200960, "tank/xen/vm1@m1")
    # -vv -P adds the blocks visited before the snapshot.
    assert p.parse_zfs_send_progress("10:21:05\t330301440\t2519\ttank/xen/vm1@m1") == 330301440


def test_it_reads_human_progress_lines_roughly() -> None:
    assert p.parse_zfs_send_progress("TIME        SENT   SNAPSHOT tank/xen/vm1@m1") is None
    line = p.read_zfs_send_progress("10:21:03    100M   tank/xen/vm1@m1")
    assert line is not None and line.bytes_sent == 100 << 20 and not line.exact
    assert p.parse_zfs_send_progress("10:21:04   1.21G    2519    tank/xen/vm1@m1") == int(
        1.21 * (1 << 30)
    )


@pytest.mark.parametrize(
    "line",
    [
        "",
        "size\t5",
        "10:21:03\tmany\ttank/v@a",
        "1:2:3\t5\ttank/v@a",
        "warning: x",
        "10:21:03\t5\t",
    ],
)
def test_other_lines_are_not_progress(line: str) -> None:
    assert p.parse_zfs_send_progress(line) is None


def test_it_reads_the_receive_resume_token() -> None:
    assert p.parse_receive_resume_token("-\n") is None
    assert p.parse_receive_resume_token(f"{TOKEN}\n") == TOKEN
    with pytest.raises(errors.ParseError):
        p.parse_receive_resume_token("cannot open 'tank/v': dataset does not exist")


# --- xl migrate --------------------------------------------------------------------------------

READY = "migration target: Ready to receive domain.\n"
SAVING = "Saving to migration stream new xl format (info 0x3/0x0/1345)\n"
LOADING = (
    "Loading new save file <incoming migration stream> (new xl fmt info 0x3/0x0/1345)\n"
    " Savefile contains xl domain config in JSON format\n"
    "Parsing config from <saved>\n"
)
RESTORED = (
    "xc: info: Found x86 HVM domain from Xen 4.18\n"
    "xc: info: Restoring domain\n"
    "xc: info: Restore successful\n"
    "xc: info: XenStore: mfn 0xfeffc, dom 0, evt 1\n"
    "xc: info: Console: mfn 0xfefff, dom 0, evt 2\n"
    "migration target: Transfer complete, requesting permission to start domain.\n"
)
HANDOVER = (
    "migration sender: Target has acknowledged transfer.\n"
    "migration sender: Giving target permission to start.\n"
)
STARTED = (
    "migration target: Got permission, starting domain.\n"
    "migration target: Domain started successsfully.\n"
    "migration sender: Target reports successful startup.\n"
)
SUCCESS = (
    READY
    + SAVING
    + "xc: info: Saving domain 3, type x86 HVM\n"
    + LOADING
    + RESTORED
    + HANDOVER
    + STARTED
    + "Migration successful.\n"
)
BANNER_EOF = (
    "libxl: error: libxl_utils.c:507:libxl_read_exactly: file/stream truncated reading banner "
    "from migration receiver stream\n"
)


def child_exit(status: int) -> str:
    return (
        "libxl: info: libxl_exec.c:117:libxl_report_child_exitstatus: migration transport "
        f"process [4242] exited with error status {status}\n"
    )


def test_it_follows_a_successful_migration_step_by_step() -> None:
    seen = []
    for end in range(1, len(SUCCESS.splitlines()) + 1):
        progress = p.parse_xl_migrate_progress("\n".join(SUCCESS.splitlines()[:end]))
        seen.append((progress.phase, progress.where))
    phases = [phase for phase, _ in seen]
    assert phases == sorted(phases)
    assert seen[0] == (Phase.RECEIVER_READY, "source")
    assert (Phase.HANDED_OVER, "unknown") in seen
    final = p.parse_xl_migrate_progress(SUCCESS)
    assert final.phase is Phase.DONE and final.outcome is Outcome.SUCCEEDED
    assert final.where == "destination" and final.percent == 100 and final.finished
    assert "xc: info: Restore successful" in final.events and not final.errors


def test_progress_counts_carriage_returns_and_no_output() -> None:
    empty = p.parse_xl_migrate_progress("")
    assert (empty.phase, empty.outcome, empty.where, empty.percent) == (
        Phase.NOT_STARTED, Outcome.IN_PROGRESS, "source", 0,
    )  # fmt: skip
    text = READY + SAVING + "xc: Frames: 1024/262144    0%\rxc: Frames: 262144/262144  100%\r"
    assert p.parse_xl_migrate_progress(text).phase is Phase.SENDING


def test_it_knows_the_failures_and_where_the_domain_is() -> None:
    resumed = p.parse_xl_migrate_progress(
        READY + SAVING + "migration target: Domain creation failed (code -3).\n"
        "Migration failed, resuming at sender.\n"
    )
    assert resumed.outcome is Outcome.FAILED and resumed.where == "source"
    assert resumed.errors == ("migration target: Domain creation failed (code -3).",)
    at_target = p.parse_xl_migrate_progress(
        READY + SAVING + LOADING + RESTORED + HANDOVER
        + "migration sender: Target reports startup failure (status code 3).\n"
        "migration target: Failure, destroying our copy.\n"
        "migration target: Cleanup OK, granting sender permission to resume.\n"
        "migration sender: Trying to resume at our end.\n"
        "migration sender: Resumed OK.\n"
        "Migration failed due to problems at target.\n"
    )  # fmt: skip
    assert (at_target.outcome, at_target.where, at_target.resumed) == (
        Outcome.FAILED, "source", True,
    )  # fmt: skip
    undefined = p.parse_xl_migrate_progress(
        READY + SAVING + LOADING + RESTORED + HANDOVER
        + "** Migration failed during final handshake **\nDomain state is now undefined !\n"
    )  # fmt: skip
    assert undefined.outcome is Outcome.UNDEFINED and undefined.where == "unknown"


# --- classification ----------------------------------------------------------------------------

ARGV = ["xl", "migrate", "-s", "ssh -i /k -o BatchMode=yes", "vm1", "xen-b"]


def classify(argv: list[str], stderr: str, rc: int = 1) -> errors.Dom0Error:
    return p.classify_error(argv, rc, "", stderr)


@pytest.mark.parametrize(
    ("stderr", "kind", "where", "words"),
    [
        ("sh: xl: not found\n" + BANNER_EOF + child_exit(127), MigrationReceiverMissing,
         "source", "no 'xl' command"),
        ("bash: line 1: xl: command not found\n" + BANNER_EOF + child_exit(127),
         MigrationReceiverMissing, "source", "xen-b"),
        ("ssh: connect to host xen-b port 22: Connection refused\n" + BANNER_EOF
         + child_exit(255), MigrationTargetUnreachable, "source", "Connection refused"),
        ("ssh: Could not resolve hostname xen-b: Name or service not known\n" + BANNER_EOF,
         MigrationTargetUnreachable, "source", "resolve"),
        ("root@xen-b: Permission denied (publickey).\n" + BANNER_EOF, MigrationTargetUnreachable,
         "source", "Permission denied"),
        ("No ED25519 host key is known for xen-b and you have requested strict checking.\n"
         "Host key verification failed.\n" + BANNER_EOF, MigrationHostKeyRejected, "source",
         "pinned"),
        ("cannot init xl context\n" + BANNER_EOF, MigrationFailed, "source",
         "not running on xen-b"),
        ("xl migration receiver stream contained unexpected data instead of banner\n"
         "(command run was: exec ssh xen-b xl migrate-receive )\n", MigrationFailed, "source",
         "did not start"),
        (READY + SAVING + LOADING + "xc: info: Restoring domain\n"
         "xc: error: Failed to populate physmap (12 = Cannot allocate memory): Internal error\n"
         "libxl: error: libxl_stream_read.c:850:libxl__xc_domain_restore_done: restoring "
         "domain: Cannot allocate memory\n"
         "libxl: error: libxl_create.c:1653:domcreate_rebuild_done: Domain 7:cannot (re-)build "
         "domain: -3\n"
         "migration target: Domain creation failed (code -3).\n"
         "migration sender: libxl_domain_suspend failed (rc=-3)\n"
         "Migration failed, resuming at sender.\n", MigrationTargetOutOfMemory, "source",
         "enough free memory"),
        (READY + SAVING + LOADING
         + "libxl: error: libxl_device.c:468:libxl__device_disk_set_backend: Disk vdev=xvda "
         "failed to stat: /dev/zvol/tank/xen/vm1: No such file or directory\n"
         "migration target: Domain creation failed (code -6).\n"
         "Migration failed, resuming at sender.\n", MigrationDiskMissing, "source",
         "/dev/zvol/tank/xen/vm1"),
        (READY + SAVING + "migration sender: libxl_domain_suspend failed (rc=-8)\n"
         "Migration failed, failed to suspend at sender.\n", MigrationFailed, "source",
         "did not suspend"),
        (READY + SAVING + LOADING + RESTORED + HANDOVER
         + "** Migration failed during final handshake **\n", MigrationStateUnknown, "unknown",
         "undefined"),
        ("No config file stored for running domain and none supplied - cannot migrate.\n",
         MigrationFailed, "source", "no stored config"),
    ],
)  # fmt: skip
def test_it_classifies_migration_failures(stderr: str, kind: type, where: str, words: str) -> None:
    err = classify(ARGV, stderr)
    assert type(err) is kind, err
    assert isinstance(err, MigrationFailed) and err.where == where
    assert words in str(err)
    assert err.hint


def test_target_out_of_memory_is_also_out_of_memory() -> None:
    text = READY + "failed to free memory for the domain\nMigration failed, resuming at sender.\n"
    err = classify(ARGV, text)
    assert isinstance(err, errors.OutOfMemory) and isinstance(err, MigrationTargetOutOfMemory)


def test_a_failed_resume_at_the_source_is_said() -> None:
    text = (
        READY + SAVING + LOADING + RESTORED + HANDOVER
        + "migration sender: Target reports startup failure (status code 3).\n"
        "migration sender: Trying to resume at our end.\n"
        "Migration failed due to problems at target.\n"
    )  # fmt: skip
    err = classify(ARGV, text)
    assert isinstance(err, MigrationFailed) and "did not report resuming" in err.hint


def test_source_side_errors_keep_the_general_rules() -> None:
    assert isinstance(
        classify(ARGV, "vm9 is an invalid domain identifier (rc=-6)\n"), errors.DomainNotFound
    )
    assert isinstance(classify(ARGV, "cannot init xl context\n"), errors.XenNotRunning)


RECV = ["zfs", "recv", "-s", "tank/xen/vm1"]
SEND = ["zfs", "send", "-c", "-v", "-P", "-i", "@m1", "tank/xen/vm1@m2"]


@pytest.mark.parametrize(
    ("argv", "stderr", "kind", "words"),
    [
        (RECV, "cannot receive new filesystem stream: destination 'tank/xen/vm1' exists\n"
         "must specify -F to overwrite it\n", ReceiveTargetExists, "'tank/xen/vm1' already"),
        (RECV, "cannot receive new filesystem stream: destination has snapshots (eg. "
         "tank/xen/vm1@old)\nmust destroy them to overwrite it\n", ReceiveTargetExists,
         "tank/xen/vm1@old"),
        (RECV, "cannot receive: failed to read from stream\n", StreamIncomplete, "ended"),
        (RECV, "cannot receive incremental stream: most recent snapshot of tank/xen/vm1 does "
         "not\nmatch incremental source\n", IncrementalMismatch, "tank/xen/vm1"),
        (RECV, "cannot receive incremental stream: destination destpool/destdataset has been "
         "modified\nsince most recent snapshot\n", IncrementalMismatch, "destpool/destdataset"),
        (RECV, "cannot receive resume stream: destination pool1/replication contains "
         "partially-complete state from \"zfs receive -s\".\n", PartialReceiveExists,
         "pool1/replication"),
        (RECV, "cannot receive incremental stream: destination 'tank/xen/vm1' does not exist\n",
         errors.DatasetMissing, "full stream"),
        (RECV, "cannot receive new filesystem stream: out of space\n", errors.PoolFull, "space"),
        (["zfs", "receive", "-s", "tank/v"], "cannot receive: failed to read from stream\n",
         StreamIncomplete, "ended"),
        (SEND, "warning: cannot send 'srcpool/srcdataset@autosnap_2020-06-21_00:00:01_daily': "
         "Broken pipe\n", SendInterrupted, "went away"),
        (SEND, "warning: cannot send 'tank/xen/vm1@m2': signal received\n", SendInterrupted,
         "stopped"),
        (SEND, "warning: cannot send 'tank/xen/vm1@m2': incremental source (tank/xen/vm1@m1) "
         "does not exist\n", errors.DatasetMissing, "tank/xen/vm1@m1"),
        (SEND, "warning: cannot send 'tank/xen/vm1@m2': not an earlier snapshot from the same "
         "fs\n", IncrementalMismatch, "earlier"),
        (["zfs", "send", "-t", "1-2-3-00"], "cannot resume send: 'tank/xen/vm1@m1' used in the "
         "initial send no longer exists\n", ResumeTokenInvalid, "no longer exists"),
        (["zfs", "send", "-t", "x"], "cannot resume send: resume token is corrupt (invalid "
         "format)\n", ResumeTokenInvalid, "corrupt"),
    ],
)  # fmt: skip
def test_it_classifies_send_and_recv_errors(
    argv: list[str], stderr: str, kind: type, words: str
) -> None:
    err = classify(argv, stderr)
    assert type(err) is kind, err
    assert words in str(err)


def test_an_incomplete_resumable_receive_carries_its_token() -> None:
    stderr = (
        "cannot receive incremental stream: checksum mismatch or incomplete stream.\n"
        "Partially received snapshot is saved.\n"
        "A resuming stream can be generated on the sending system by running:\n"
        f"    zfs send -t {TOKEN}\n"
    )
    err = classify(RECV, stderr)
    assert isinstance(err, StreamIncomplete) and err.resume_token == TOKEN
    plain = classify(RECV, "cannot receive new filesystem stream: incomplete stream\n")
    assert isinstance(plain, StreamIncomplete) and plain.resume_token is None


def test_other_zfs_errors_keep_the_general_rules() -> None:
    err = classify(SEND, "cannot open 'tank/xen/vm1@m1': dataset does not exist\n")
    assert isinstance(err, errors.DatasetMissing)
    assert classify(["zfs", "recv", "tank/v"], "something odd\n").code == "command_failed"


# --- the checklist -----------------------------------------------------------------------------

XL_INFO = """\
host                   : xen-a
release                : 14.1-RELEASE
machine                : amd64
nr_cpus                : 8
hw_caps                : bfebfbff:77fafbff:2c100800:00000121:0000000f:009c6fbf:00000000:00000100
virt_caps              : pv hvm hvm_directio pv_directio hap shadow iommu_hap_pt_share
total_memory           : 32661
free_memory            : 23950
xen_major              : 4
xen_minor              : 18
xen_extra              : .2
xen_version            : 4.18.2
xend_config_format     : 4
"""
LONG = """[{"domid": 3, "config": {
  "c_info": {"type": "hvm", "name": "vm1", "hap": "True"},
  "b_info": {"max_vcpus": 2, "max_memkb": 4194304, "target_memkb": 2097152},
  "disks": [{"pdev_path": "/dev/zvol/tank/xen/vm1", "vdev": "xvda", "format": "raw",
             "readwrite": 1}],
  "nics": [{"devid": 0, "mac": "00:16:3e:74:34:32", "bridge": "bridge0"}]}}]"""
ZPOOL = "tank\t107374182400\t21474836480\t85899345920\tONLINE\n"


def info(**changes: str) -> dict[str, object]:
    values: dict[str, object] = dict(p.parse_xl_info(XL_INFO).values)
    values.update(changes)
    return values


def target(**extra: object) -> dict[str, object]:
    base: dict[str, object] = info(host="xen-b")
    base.update(
        bridges=["bridge0", "em0"],
        pools=[dataclasses.asdict(r) for r in p.parse_zpool_list(ZPOOL)],
        domains=[dataclasses.asdict(r) for r in p.parse_xl_list(XL_LIST)],
    )
    base.update(extra)
    return base


XL_LIST = (
    "Name                                        ID   Mem VCPUs\tState\tTime(s)\n"
    "Domain-0                                     0  8192     4     r-----     120.3\n"
    "other                                        2  1024     1     -b----      12.0\n"
)


def domain(**extra: object) -> dict[str, object]:
    data = dataclasses.asdict(p.parse_xl_list_long(LONG)[0])
    data["volumes"] = [{"name": "tank/xen/vm1", "size": 20 << 30}]
    data.update(extra)
    return data


def by_key(checks: list) -> dict[str, tuple[str, str]]:
    return {c.key: (c.status, c.message) for c in checks}


def test_a_good_receiver_passes_every_check() -> None:
    checks = check_receiver(info(), target(), domain())
    assert [c.key for c in checks] == [
        "xen_version", "virt_caps", "cpu_features", "memory", "vcpus", "bridges", "pool_space",
        "name",
    ]  # fmt: skip
    assert all(c.status == PASS for c in checks), checks
    assert all(c.label and c.message for c in checks)
    assert blocking(checks) == []


def test_it_reads_libxls_own_json_too() -> None:
    import json

    raw = json.loads(LONG)[0]
    raw["volumes"] = [{"name": "tank/xen/vm1", "size": 1 << 30}]
    assert all(c.status == PASS for c in check_receiver(info(), target(), raw))


@pytest.mark.parametrize(
    ("source", "tgt", "dom", "key", "status", "words"),
    [
        ({}, {"xen_minor": "17", "xen_version": "4.17.3"}, {}, "xen_version", FAIL, "Xen 4.17"),
        ({}, {"xen_major": "", "xen_minor": "", "xen_version": ""}, {}, "xen_version", FAIL,
         "receiver's Xen version is unknown"),
        ({"xen_major": "x", "xen_minor": "", "xen_version": "4.18-unstable"}, {}, {},
         "xen_version", PASS, "4.18"),
        ({}, {"virt_caps": "pv hap shadow"}, {}, "virt_caps", FAIL, "VT-x"),
        ({}, {"virt_caps": "pv hvm shadow"}, {}, "virt_caps", FAIL, "hardware-assisted"),
        ({}, {"virt_caps": "pv hvm hap"}, {"config": {"c_info": {"hap": "False"}}}, "virt_caps",
         FAIL, "shadow"),
        ({}, {"virt_caps": "hvm hap"}, {"type": "pv"}, "virt_caps", FAIL, "without PV"),
        ({}, {"virt_caps": ""}, {}, "virt_caps", FAIL, "unknown"),
        ({}, {}, {"type": None, "config": {}}, "virt_caps", FAIL, "type"),
        ({}, {"hw_caps": "bfebfbff:77fafbff:2c100800:00000121:0000000f:00000000:00000000:00000100"},
         {}, "cpu_features", WARN, "[5]"),
        ({}, {"hw_caps": None}, {}, "cpu_features", WARN, "Could not compare"),
        ({}, {"free_memory": "1024"}, {}, "memory", FAIL, "1024 MiB free"),
        ({}, {"free_memory": "3000"}, {}, "memory", WARN, "ceiling of 4096 MiB"),
        ({}, {"free_memory": None}, {}, "memory", FAIL, "unknown"),
        ({}, {"nr_cpus": "1"}, {}, "vcpus", WARN, "2 vCPUs"),
        ({}, {"bridges": ["em0"]}, {}, "bridges", FAIL, "no bridge0"),
        ({}, {"bridges": None}, {}, "bridges", FAIL, "unknown"),
        ({}, {}, {"nics": [{"bridge": None}]}, "bridges", FAIL, "xenbr0"),
        ({}, {}, {"nics": []}, "bridges", PASS, "no NICs"),
        ({}, {"pools": {"tank": 10 << 30}}, {}, "pool_space", FAIL, "10.0 GiB free"),
        ({}, {"pools": [{"name": "tank", "free": 90 << 30, "available": 5 << 30}]}, {},
         "pool_space", FAIL, "5.0 GiB free"),
        ({}, {"pools": {"zroot": 1 << 40}}, {}, "pool_space", FAIL, "no pool 'tank'"),
        ({}, {}, {"volumes": [{"name": "tank/xen/vm1", "size": 1, "pool": "zroot"}]},
         "pool_space", FAIL, "no pool 'zroot'"),
        ({}, {"pools": [{"name": "tank", "free": 1 << 40, "health": "FAULTED"}]}, {},
         "pool_space", FAIL, "FAULTED"),
        ({}, {"pools": None}, {}, "pool_space", FAIL, "unknown"),
        ({}, {}, {"volumes": [{"name": "tank/xen/vm1"}]}, "pool_space", FAIL, "size"),
        ({}, {}, {"volumes": []}, "pool_space", PASS, "shared storage"),
        ({}, {"domains": ["Domain-0", "vm1"]}, {}, "name", FAIL, "already runs"),
        ({}, {"domains": [{"name": "vm1--incoming"}]}, {}, "name", FAIL, "earlier migration"),
        ({}, {"domains": None}, {}, "name", FAIL, "unknown"),
    ],
)  # fmt: skip
def test_each_check_says_what_to_fix(
    source: dict[str, object],
    tgt: dict[str, object],
    dom: dict[str, object],
    key: str,
    status: str,
    words: str,
) -> None:
    checks = check_receiver(info(**source), target(**tgt), domain(**dom))  # type: ignore[arg-type]
    found = by_key(checks)[key]
    assert found[0] == status, found
    assert words in found[1]
    others = [c for c in checks if c.key != key and c.status == FAIL]
    assert not others or key in ("virt_caps",), others
    assert (status == FAIL) == any(c.key == key for c in blocking(checks))


def test_a_pv_domain_on_an_old_xl_without_the_pv_token_passes() -> None:
    old = {"virt_caps": "hvm hvm_directio hap"}
    checks = check_receiver(info(**old), target(**old), domain(type="pv"))
    assert by_key(checks)["virt_caps"][0] == PASS
