from django.core.management.base import BaseCommand

from hosts.keys import ensure_panel_key


class Command(BaseCommand):
    help = "Create the panel's SSH key pair if missing and print the public key."

    def handle(self, *args: object, **options: object) -> None:
        path = ensure_panel_key()
        self.stdout.write(path.with_suffix(".pub").read_text().strip())
