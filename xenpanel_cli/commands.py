"""What each command does: which API call, and how its answer is shown.

A handler takes the parsed arguments and the Api and returns the exit status; it prints the
result (a table, `key: value` lines, or JSON with --json) to stdout and progress to stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from xenpanel_cli import output, views
from xenpanel_cli.client import Api, Response
from xenpanel_cli.follow import Follower, outcome
from xenpanel_cli.resolve import CliError, code_of, detail, find, volume_name
from xenpanel_cli.tus import Progress, Uploader


def show_list(args: argparse.Namespace, rows: list[dict[str, Any]], columns: Any) -> int:
    print(output.as_json(rows) if args.json else output.table(rows, columns))
    return 0


def show_one(args: argparse.Namespace, obj: Any, keys: Any = None) -> int:
    print(output.as_json(obj) if args.json else output.fields(obj, keys))
    return 0


def host_code(api: Api, args: argparse.Namespace) -> str | None:
    ref = getattr(args, "host", None)
    return code_of(api, "hosts", ref) if ref else None


def queued(api: Api, args: argparse.Namespace, reply: Response) -> int:
    """An action's 202: print the job, or with --wait follow it and exit with its outcome."""
    job = reply.data or {}
    code = job.get("code") or (reply.header("location") or "").rstrip("/").rsplit("/", 1)[-1]
    if not getattr(args, "wait", False):
        if args.json:
            print(output.as_json(job))
        else:
            print(f"Queued job {code}: {job.get('title', '')} ({job.get('status', 'queued')}).")
            print(f"Follow it with: xenpanel-cli jobs wait {code}")
        return 0
    return wait_for(api, args, code)


def wait_for(api: Api, args: argparse.Namespace, code: str) -> int:
    job = Follower(api, quiet=args.json).follow(code)
    status, last = outcome(job)
    if args.json:
        print(output.as_json(job))
    elif not status:
        print(last)
    if status:  # the reason goes to stderr (once), where scripts and people look for it
        print(f"xenpanel-cli: {last}", file=sys.stderr)
    return status


# --- hosts ------------------------------------------------------------------------------------
def hosts_list(api: Api, args: argparse.Namespace) -> int:
    return show_list(args, list(api.each("hosts/")), views.HOSTS)


def hosts_show(api: Api, args: argparse.Namespace) -> int:
    return show_one(args, detail(api, "hosts", args.host))


# --- domUs ------------------------------------------------------------------------------------
def domains_list(api: Api, args: argparse.Namespace) -> int:
    query = {"host": host_code(api, args), "state": args.state, "owner": args.owner,
             "search": args.search}  # fmt: skip
    return show_list(args, list(api.each("domains/", **query)), views.DOMAINS)


def domain(api: Api, args: argparse.Namespace) -> dict[str, Any]:
    return find(api, "domains", args.domain, host=host_code(api, args))


def domains_show(api: Api, args: argparse.Namespace) -> int:
    return show_one(args, detail(api, "domains", args.domain, host=host_code(api, args)))


def memory_mib(text: str) -> int:
    """`1024` (MiB), `512M`, `2G`: the memory in MiB."""
    value = text.strip().upper().removesuffix("B").removesuffix("I")
    scale = {"M": 1, "G": 1024, "T": 1024 * 1024}.get(value[-1:], 0)
    number = value[:-1] if scale else value
    try:
        amount = float(number) * (scale or 1)
    except ValueError:
        raise CliError(f"--memory {text!r}: give MiB (1024) or a size with a unit (2G)") from None
    if amount != int(amount) or amount <= 0:
        raise CliError(f"--memory {text!r} is not a whole number of MiB")
    return int(amount)


def create_body(api: Api, args: argparse.Namespace) -> dict[str, Any]:
    """The new-domU form's fields from the flags; what is not given, the panel fills as the
    page would (the host's default bridge and VNC address, a generated password)."""
    host = code_of(api, "hosts", args.host)
    body: dict[str, Any] = {"host": host, "name": args.name}
    if args.memory:
        body["memory_mb"] = memory_mib(args.memory)
    if args.vcpus:
        body["vcpus"] = args.vcpus
    if args.volume and args.disk_size:
        raise CliError("give either --volume (an existing volume) or --disk-size (a new one)")
    if args.volume:
        body["disk"], body["volume"] = "existing", code_of(api, "volumes", args.volume, host=host)
    else:
        body["disk"] = "new"
        if args.disk_size:
            body["disk_gib"] = args.disk_size
    if args.iso:
        body["iso"] = code_of(api, "isos", args.iso, host=host)
    optional = {"bridge": args.bridge, "guest_type": args.guest_type, "kernel": args.kernel,
                "vnc_listen": args.vnc_listen, "vnc_password": args.vnc_password}  # fmt: skip
    body.update({k: v for k, v in optional.items() if v is not None})
    if args.no_vnc:
        body["vnc_enabled"] = False
    if args.autostart:
        body["autostart"] = True
    for pair in args.set or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"--set {pair!r}: write it as field=value")
        body[key] = value
    return body


def domains_create(api: Api, args: argparse.Namespace) -> int:
    return queued(api, args, api.post("domains/", create_body(api, args)))


def domains_action(api: Api, args: argparse.Namespace) -> int:
    obj = domain(api, args)
    body: dict[str, Any] = {}
    if args.action == "insert-cd":
        body["iso"] = code_of(api, "isos", args.iso, host=str(obj.get("host") or "") or None)
    reply = api.post(f"domains/{obj['code']}/actions/{args.action}/", body)
    return queued(api, args, reply)


def confirmed(args: argparse.Namespace, name: str, what: str) -> str:
    """The name typed to confirm a deletion: --yes types it for you, else you type it."""
    if args.yes:
        return name
    if not sys.stdin.isatty():
        raise CliError(f"deleting {what} {name} needs --yes (or type its name at a terminal)")
    typed = input(f"Type the name ({name}) to delete {what} {name}: ").strip()
    if typed != name:
        raise CliError("the name typed does not match; nothing was deleted")
    return typed


def domains_delete(api: Api, args: argparse.Namespace) -> int:
    obj = domain(api, args)
    body = {"confirm": confirmed(args, obj["name"], "domU"), "destroy_volume": args.destroy_volume}
    return queued(api, args, api.call("DELETE", f"domains/{obj['code']}/", body))


def domains_vnc(api: Api, args: argparse.Namespace) -> int:
    obj = domain(api, args)
    return show_one(args, api.get(f"domains/{obj['code']}/vnc/"))


# --- volumes ----------------------------------------------------------------------------------
def volumes_list(api: Api, args: argparse.Namespace) -> int:
    query = {"host": host_code(api, args), "search": args.search}
    return show_list(args, list(api.each("volumes/", **query)), views.VOLUMES)


def volumes_create(api: Api, args: argparse.Namespace) -> int:
    body = {"host": code_of(api, "hosts", args.host), "name": args.name, "size": args.size,
            "sparse": args.sparse}  # fmt: skip
    return queued(api, args, api.post("volumes/", body))


def volumes_delete(api: Api, args: argparse.Namespace) -> int:
    obj = find(api, "volumes", args.volume, host=host_code(api, args))
    body = {"confirm": confirmed(args, volume_name(obj), "volume")}
    return queued(api, args, api.call("DELETE", f"volumes/{obj['code']}/", body))


# --- ISO images -------------------------------------------------------------------------------
def isos_list(api: Api, args: argparse.Namespace) -> int:
    query = {"host": host_code(api, args), "search": args.search}
    return show_list(args, list(api.each("isos/", **query)), views.ISOS)


def isos_fetch(api: Api, args: argparse.Namespace) -> int:
    body = {"host": code_of(api, "hosts", args.host), "url": args.url}
    body.update({k: v for k, v in {"file_name": args.file_name, "checksum": args.sha256}.items()
                 if v})  # fmt: skip
    return queued(api, args, api.post("isos/", body))


def isos_upload(api: Api, args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"{path}: no such file")
    host = code_of(api, "hosts", args.host)
    name = args.file_name or path.name
    meta = {"filename": name, "host": host}
    size = path.stat().st_size
    uploader = Uploader(api, chunk=args.chunk_mib * 2**20)
    sent = uploader.upload(path, meta, progress=Progress(size, quiet=args.quiet))
    job_code = upload_job(api, sent.last, name)
    if job_code is None:
        print(f"Uploaded {name} ({output.size(size)}, sha256 {sent.sha256}).")
        return 0
    reply = Response(202, {"location": f"/api/v1/jobs/{job_code}/"}, api.get(f"jobs/{job_code}/"))
    return queued(api, args, reply)


def upload_job(api: Api, last: Response | None, name: str) -> str | None:
    """The job that copies the upload to its host: named by the last PATCH's answer if the
    panel says it, else the newest "Copy uploaded <name>" job of yours."""
    if last is not None:
        for header in ("upload-job", "xenpanel-job", "location"):
            value = last.header(header) or ""
            if "/jobs/" in value or (header != "location" and value):
                return value.rstrip("/").rsplit("/", 1)[-1]
        if isinstance(last.data, dict) and last.data.get("job"):
            job = last.data["job"]
            return str(job.get("code") if isinstance(job, dict) else job)
    for job in api.each("jobs/", limit=20, kind="iso.upload", search=name):
        if f"uploaded {name} " in str(job.get("title", "")):
            return str(job["code"])
    return None


def isos_delete(api: Api, args: argparse.Namespace) -> int:
    obj = find(api, "isos", args.iso, host=host_code(api, args))
    body = {"confirm": confirmed(args, obj["file_name"], "ISO image")}
    return queued(api, args, api.call("DELETE", f"isos/{obj['code']}/", body))


# --- jobs -------------------------------------------------------------------------------------
def jobs_list(api: Api, args: argparse.Namespace) -> int:
    query = {"status": args.status, "kind": args.kind, "host": host_code(api, args),
             "search": args.search}  # fmt: skip
    return show_list(args, list(api.each("jobs/", limit=args.limit, **query)), views.JOBS)


def jobs_show(api: Api, args: argparse.Namespace) -> int:
    job = api.get(f"jobs/{args.job}/")
    if args.json:
        return show_one(args, job)
    print(output.fields(job, views.JOB_FIELDS))
    if job.get("steps"):
        print()
        print(output.table(job["steps"], views.STEPS))
    return 0


def jobs_cancel(api: Api, args: argparse.Namespace) -> int:
    return queued(api, args, api.post(f"jobs/{args.job}/cancel/"))


def jobs_wait(api: Api, args: argparse.Namespace) -> int:
    return wait_for(api, args, args.job)
