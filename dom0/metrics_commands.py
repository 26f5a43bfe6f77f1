"""Argv builders for the metrics sample round (issue 16): `xentop` in batch mode.

`zpool list -H -p` is `commands.zpool_list()` (the storage refresh uses it too).
"""

from __future__ import annotations

#: Iterations and delay of one sample: xentop's CPU(%) needs a previous iteration (its first
#: prints 0.0 for every domain), so two iterations one second apart, and the second is read.
XENTOP_ITERATIONS = 2
XENTOP_DELAY_SECONDS = 1


def xentop_batch() -> list[str]:
    """Return `xentop -b -f -i 2 -d 1`.

    -b batch mode (plain text on stdout, no curses, no summary lines), -f full domain names (the
    default truncates them to 10 characters, so a long name could not be matched), -i 2 -d 1 two
    iterations a second apart (see XENTOP_ITERATIONS). No option takes a user value.
    """
    return [
        "xentop",
        "-b",
        "-f",
        "-i",
        str(XENTOP_ITERATIONS),
        "-d",
        str(XENTOP_DELAY_SECONDS),
    ]
