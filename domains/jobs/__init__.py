"""DomU jobs, one module per concern (imported by `autodiscover_modules("jobs")`).

Every job reads `xl list` back at its end so the pages show what the host really has, and a step
that changes the host first checks whether the change is already there (see `common`).
"""

from domains.jobs import (  # noqa: F401
    adopt,
    autostart,
    clones,
    create,
    delete,
    edit,
    evacuate,
    lifecycle,
    media,
    migrate,
    pci,
    snapshots,
)
