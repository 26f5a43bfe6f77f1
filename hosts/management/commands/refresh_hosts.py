from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from hosts.jobs import queue_refresh
from hosts.models import Host


class Command(BaseCommand):
    help = "Queue a full refresh (facts, xl list, readiness) of every host, or of the named ones."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("names", nargs="*")

    def handle(self, *args: object, **options: object) -> None:
        hosts = Host.objects.all()
        if options["names"]:
            hosts = hosts.filter(name__in=options["names"])
        with transaction.atomic():
            jobs = [queue_refresh(host) for host in hosts]
        self.stdout.write(f"Queued {len(jobs)} refresh job(s).")
