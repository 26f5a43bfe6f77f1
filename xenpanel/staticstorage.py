"""How static files are stored and named: hashed, compressed, cached for a year (issue 16).

`manage.py collectstatic` writes every file under STATIC_ROOT twice: as is, and with a hash of
its content in its name (`css/panel.3f9a1c0b2e4d.css`), each with a `.gz` beside it. Pages link
the hashed names, which whitenoise serves with `Cache-Control: max-age=31536000, immutable` (a
changed file gets a new name, so a browser never needs to ask again) and gzip-encoded when the
browser accepts it.

JavaScript modules: noVNC's files (and our console scripts) import each other by relative path.
Django rewrites `import … from "./x.js"` in JS files only when asked
(`support_js_module_import_aggregation`); we ask, so the console page loads hashed files all the
way down — an unrewritten import would fetch the unhashed file, which whitenoise serves with the
short default max-age and which could belong to another release than the hashed module
importing it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

from whitenoise.storage import CompressedManifestStaticFilesStorage  # type: ignore[import-untyped]

logger = logging.getLogger(__name__)

#: The ES-module trees whose `import … from "./x.js"` statements are rewritten to hashed names:
#: our scripts (console-page.js imports console.js and noVNC) and noVNC (core/ imports
#: ../vendor/pako).
MODULE_DIRS = ("js/", "vendor/novnc/")


class PanelStaticStorage(CompressedManifestStaticFilesStorage):
    """whitenoise's compressed manifest storage; unhashed names for what was not collected.

    Without a manifest (a checkout where nobody ran collectstatic: a bench's throwaway VAR_DIR,
    `runserver`), Django's storage would fail every page with "Missing staticfiles manifest
    entry"; so would a file added since the last collectstatic. Here such a name is linked as
    is, and whitenoise serves it from the source tree (WHITENOISE_USE_FINDERS): the panel works,
    only uncompressed and with the short max-age. A missing manifest is logged once so an
    operator notices; `make demo`, the test session and the deployment guide run collectstatic.
    """

    support_js_module_import_aggregation = True
    _warned = False

    def url_converter(
        self, name: str, hashed_files: dict[str, str], template: str | None = None
    ) -> Callable[[re.Match[str]], str]:
        convert = super().url_converter(name, hashed_files, template)
        modules = name.endswith(".js") and name.startswith(MODULE_DIRS)

        def converter(match: re.Match[str]) -> str:
            source_map = "sourceMappingURL" in match["matched"]
            if name.endswith(".js") and not source_map and not modules:
                # Django's import patterns are regular expressions, not a JS parser: they also
                # match `import("../htmx")` inside the JSDoc comments of django-htmx's files
                # (which no page loads). Only the module trees we ship are rewritten.
                return match["matched"]
            try:
                return convert(match)
            except ValueError:
                if source_map:
                    # bootstrap.min.css and tus.min.js end with a sourceMappingURL comment but
                    # their maps are not vendored (static/vendor/README.md); a browser asks for
                    # a map only while its developer tools are open.
                    return match["matched"]
                raise

        return converter

    def stored_name(self, name: str) -> str:
        path = urlsplit(unquote(name)).path.strip()  # as Django's stored_name looks it up
        if self.hashed_files.get(self.hash_key(path)) is not None:
            return super().stored_name(name)
        # Not collected: an empty manifest means collectstatic never ran into STATIC_ROOT (say
        # so once); a manifest without this name is an older collection (or whitenoise probing
        # whether a name carries a hash, at start-up: not worth a warning).
        if not self.hashed_files and not PanelStaticStorage._warned:
            PanelStaticStorage._warned = True
            logger.warning(
                "No static files collected under %s: pages link unhashed, uncompressed files. "
                "Run `manage.py collectstatic --noinput` (after every upgrade too).",
                self.location,
            )
        return name
