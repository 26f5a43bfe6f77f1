"""`xenpanel-cli`: the command line, its parsing, and how errors end the program.

Exit status: 0 done; 1 a followed job failed or was cancelled, or the panel refused (the
API's message is printed); 2 a usage mistake or an object that cannot be found.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from xenpanel_cli import __version__, commands
from xenpanel_cli.client import Api, ApiError
from xenpanel_cli.config import ConfigError, load
from xenpanel_cli.resolve import CliError

ACTIONS = {
    "start": "start a domU from its config file",
    "shutdown": "ask the guest to shut down (PV drivers)",
    "power-button": "press the ACPI power button (guests without PV drivers)",
    "reboot": "ask the guest to reboot",
    "force-reboot": "reset it at once",
    "destroy": "stop it at once (power off; its disk stays)",
    "pause": "pause it",
    "unpause": "unpause it",
    "finish-install": "remove the installer cdrom and boot from the disk",
    "eject-cd": "eject the cdrom",
    "insert-cd": "insert an ISO image into its cdrom (--iso)",
}

Handler = Callable[[Api, argparse.Namespace], int]


def _leaf(
    group: Any, name: str, handler: Handler, help_text: str, *, action: bool = False
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = group.add_parser(name, help=help_text, description=help_text)
    # SUPPRESS: a leaf's default must not overwrite the same option given before the command.
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print JSON (for scripts) instead of a table")  # fmt: skip
    if action:
        parser.add_argument(
            "--wait",
            action="store_true",
            help="follow the job; exit non-zero with its error if it fails",
        )
    parser.set_defaults(handler=handler)
    return parser


def _host_filter(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="only on this host (name or code)")
    parser.add_argument("--search", help="only those whose name contains this")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xenpanel-cli",
        description="Drive a xenpanel through its REST API. The panel and token come from "
        "XENPANEL_URL and XENPANEL_TOKEN, or ~/.config/xenpanel/cli.toml (url, token).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--profile", help="use [profiles.NAME] of the config file")
    parser.add_argument("--json", action="store_true", default=False, help="print JSON")
    rooms = parser.add_subparsers(dest="room", required=True, metavar="COMMAND")

    hosts = rooms.add_parser("hosts", help="Dom0 hosts").add_subparsers(dest="cmd", required=True)
    _leaf(hosts, "list", commands.hosts_list, "list the hosts")
    _leaf(hosts, "show", commands.hosts_show, "show one host").add_argument("host")

    domains = rooms.add_parser("domains", help="domUs").add_subparsers(dest="cmd", required=True)
    p = _leaf(domains, "list", commands.domains_list, "list the domUs you may see")
    _host_filter(p)
    p.add_argument("--state", help="only in this state (running, paused, shutdown, ...)")
    p.add_argument("--owner", help="only this user's")
    _named(_leaf(domains, "show", commands.domains_show, "show one domU"), "domain")
    _create_args(_leaf(domains, "create", commands.domains_create, "create a domU", action=True))
    for action, help_text in ACTIONS.items():
        p = _leaf(domains, action, commands.domains_action, help_text, action=True)
        _named(p, "domain")
        p.set_defaults(action=action)
        if action == "insert-cd":
            p.add_argument("--iso", required=True, help="the ISO image (file name or code)")
    p = _leaf(domains, "delete", commands.domains_delete, "delete a domU", action=True)
    _named(p, "domain")
    p.add_argument("--yes", action="store_true", help="do not ask to type the name")
    p.add_argument("--destroy-volume", action="store_true", help="destroy its volume too")
    _named(_leaf(domains, "vnc", commands.domains_vnc, "how to reach its VNC console"), "domain")

    volumes = rooms.add_parser("volumes", help="volumes").add_subparsers(dest="cmd", required=True)
    _host_filter(_leaf(volumes, "list", commands.volumes_list, "list the volumes"))
    p = _leaf(volumes, "create", commands.volumes_create, "create a volume", action=True)
    p.add_argument("--host", required=True, help="the host (name or code)")
    p.add_argument("--name", required=True, help="the volume's name, e.g. web1-disk0")
    p.add_argument("--size", required=True, help="20 (GiB), 1536M, 1T")
    p.add_argument("--sparse", action="store_true", help="thin-provisioned")
    p = _leaf(volumes, "delete", commands.volumes_delete, "destroy a volume", action=True)
    _named(p, "volume")
    p.add_argument("--yes", action="store_true", help="do not ask to type the name")

    isos = rooms.add_parser("isos", help="ISO images").add_subparsers(dest="cmd", required=True)
    _host_filter(_leaf(isos, "list", commands.isos_list, "list the ISO images"))
    p = _leaf(isos, "fetch", commands.isos_fetch, "fetch an ISO image from a URL", action=True)
    p.add_argument("--host", required=True, help="the host (name or code)")
    p.add_argument("--url", required=True, help="http(s) URL of the image")
    p.add_argument("--file-name", help="its file name on the host (default: from the URL)")
    p.add_argument("--sha256", help="the SHA-256 it must have")
    p = _leaf(isos, "upload", commands.isos_upload, "upload an ISO image (tus)", action=True)
    p.add_argument("file", help="the .iso file")
    p.add_argument("--host", required=True, help="the host (name or code)")
    p.add_argument("--file-name", help="its name on the host (default: the file's name)")
    p.add_argument("--chunk-mib", type=int, default=8, help="MiB per request (default 8)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p = _leaf(isos, "delete", commands.isos_delete, "delete an ISO image", action=True)
    _named(p, "iso")
    p.add_argument("--yes", action="store_true", help="do not ask to type the name")

    jobs = rooms.add_parser("jobs", help="jobs").add_subparsers(dest="cmd", required=True)
    p = _leaf(jobs, "list", commands.jobs_list, "list recent jobs")
    _host_filter(p)
    p.add_argument("--status", help="queued, running, succeeded, failed, cancelled")
    p.add_argument("--kind", help="e.g. domain.create")
    p.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    _leaf(jobs, "show", commands.jobs_show, "show a job and its steps").add_argument("job")
    _leaf(jobs, "cancel", commands.jobs_cancel, "cancel a job", action=True).add_argument("job")
    p = _leaf(jobs, "wait", commands.jobs_wait, "follow a job until it ends")
    p.add_argument("job")
    return parser


def _named(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(what, help=f"the {what}'s name or code")
    if not any(a.dest == "host" for a in parser._actions):
        parser.add_argument("--host", help="the host it is on, when the name is not enough")


def _create_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", required=True, help="the host (name or code)")
    p.add_argument("--name", required=True, help="the domU's name")
    p.add_argument("--memory", help="MiB (1024) or with a unit (2G)")
    p.add_argument("--vcpus", type=int, help="vCPUs")
    p.add_argument("--disk-size", help="a new volume of this size: 20 (GiB), 1536M")
    p.add_argument("--volume", help="an existing free volume instead (name or code)")
    p.add_argument("--iso", help="the install ISO on that host (file name or code)")
    p.add_argument("--bridge", help="the bridge of its NIC (default: the host's)")
    p.add_argument("--guest-type", choices=["hvm", "pvh"], help="hvm (default) or pvh")
    p.add_argument("--kernel", help="PVH: the kernel or boot loader on the host")
    p.add_argument("--vnc-listen", help="VNC listen address (default: the host's)")
    p.add_argument("--vnc-password", help="VNC password (default: generated)")
    p.add_argument("--no-vnc", action="store_true", help="no VNC console")
    p.add_argument("--autostart", action="store_true", help="start it after a Dom0 reboot")
    p.add_argument("--set", action="append", metavar="FIELD=VALUE",
                   help="any other field of the new-domU form (repeatable)")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = load(args.profile)
        api = Api(config.url, config.token)
        try:
            return int(args.handler(api, args))
        finally:
            api.close()
    except ConfigError as exc:
        return _fail(str(exc), 2)
    except CliError as exc:
        return _fail(str(exc), 2)
    except ApiError as exc:
        return _fail(exc.message(), 1)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)


def _fail(message: str, status: int) -> int:
    print(f"xenpanel-cli: {message}", file=sys.stderr)
    return status
