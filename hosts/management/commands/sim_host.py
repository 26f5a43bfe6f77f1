from django.core.management.base import BaseCommand, CommandParser

from hosts.simhosts import create_sim_host


class Command(BaseCommand):
    help = "Create (or reset) a simulated Dom0 and register it as a host."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--profile", choices=["ready", "unready"], default="ready")
        parser.add_argument("--transport", choices=["sim", "local"], default="sim")
        parser.add_argument("--reset", action="store_true", help="wipe its state first")

    def handle(self, *args: object, **options: object) -> None:
        host = create_sim_host(
            str(options["name"]),
            profile=str(options["profile"]),
            transport=str(options["transport"]),
            reset=bool(options["reset"]),
        )
        self.stdout.write(f"Simulated host {host.name} ready ({host.sim_dir}).")
