#!/usr/bin/env bash
# Re-fetch the vendored front-end assets in static/vendor/ from the npm registry (`make vendor`).
# Each package is fetched with `npm pack` at the version pinned below, its tarball checked against
# the pinned sha512 integrity, and only the files the panel serves are copied out. Needs npm (and
# its node) and tar; creates no package.json or node_modules. To upgrade: change a version and
# its integrity (`npm view <pkg>@<version> dist.integrity`), run it, update static/vendor/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

HTMX_VERSION=2.0.10
HTMX_INTEGRITY=sha512-kdeJe7ZVwaS6QMz/ebBIVtZdpwen6L0OQ5GOhPV9MKBb196TCZeZu4yA7ZIQsaLKv7EpXz+So7KSXNuHXhj7Cw==
BOOTSTRAP_VERSION=5.3.9
BOOTSTRAP_INTEGRITY=sha512-20cU0rcfw8WdxtVbmfU+xT2EjvVTw9Ror/h1Qvd7DXCujRg8OO9mdBCsmTHdJFf3BuadmBNJtgIuUXsBqSkk/w==
NOVNC_VERSION=1.7.0
NOVNC_INTEGRITY=sha512-ucEJOx4T2avIRCleodk7YobZj5O2Ga2AeLfQ69A/yjG9HHba2+PDgwSkN3FttrmG+70ZGx21sElNFouK13RzyA==
TUS_VERSION=4.3.1
TUS_INTEGRITY=sha512-ZLeYmjrkaU1fUsKbIi8JML52uAocjEZtBx4DKjRrqzrZa0O4MYwT6db+oqePlspV+FxXJAyFBc/L5gwUi2OFsg==
SWAGGER_UI_VERSION=5.35.0
SWAGGER_UI_INTEGRITY=sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ==
UPLOT_VERSION=1.6.32
UPLOT_INTEGRITY=sha512-KIMVnG68zvu5XXUbC4LQEPnhwOxBuLyW1AHtpm6IKTXImkbLgkMy+jabjLgSLMasNuGGzQm/ep3tOkyTxpiQIw==

command -v npm >/dev/null || { echo "vendor: npm is needed (apt install npm / pkg install npm)" >&2; exit 1; }

dest=static/vendor
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# fetch <pkg>@<version> <integrity> <dir>: unpack the package's tarball into <dir>.
fetch() {
  local spec=$1 integrity=$2 dir=$3 tgz actual
  tgz="$(cd "$tmp" && npm pack --silent "$spec" | tail -n 1)"
  actual="$(node -e 'const c = require("crypto"), fs = require("fs");
    process.stdout.write("sha512-" + c.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"));' "$tmp/$tgz")"
  if [[ "$actual" != "$integrity" ]]; then
    echo "vendor: $spec: integrity $actual, expected $integrity" >&2
    exit 1
  fi
  mkdir -p "$dir"
  tar -xzf "$tmp/$tgz" -C "$dir" --strip-components=1 --no-same-owner
}

# Fetch everything first, so a network or integrity failure leaves static/vendor/ untouched.
fetch "htmx.org@$HTMX_VERSION" "$HTMX_INTEGRITY" "$tmp/htmx"
fetch "bootstrap@$BOOTSTRAP_VERSION" "$BOOTSTRAP_INTEGRITY" "$tmp/bootstrap"
fetch "@novnc/novnc@$NOVNC_VERSION" "$NOVNC_INTEGRITY" "$tmp/novnc"
fetch "tus-js-client@$TUS_VERSION" "$TUS_INTEGRITY" "$tmp/tus"
fetch "swagger-ui-dist@$SWAGGER_UI_VERSION" "$SWAGGER_UI_INTEGRITY" "$tmp/swagger-ui"
fetch "uplot@$UPLOT_VERSION" "$UPLOT_INTEGRITY" "$tmp/uplot"

out="$tmp/out"
mkdir -p "$out/htmx" "$out/bootstrap" "$out/novnc" "$out/tus" "$out/uplot"
# htmx: the minified build and its licence.
cp "$tmp/htmx/dist/htmx.min.js" "$tmp/htmx/LICENSE" "$out/htmx/"
# Bootstrap: the minified CSS only (the panel uses no Bootstrap JS) and its licence.
cp "$tmp/bootstrap/dist/css/bootstrap.min.css" "$tmp/bootstrap/LICENSE" "$out/bootstrap/"
# noVNC: the ES module sources; core/ imports ../vendor/pako, so both keep their layout.
cp -R "$tmp/novnc/core" "$tmp/novnc/vendor" "$tmp/novnc/LICENSE.txt" "$out/novnc/"
# tus-js-client: the minified browser build (UMD: sets window.tus) and its licence.
cp "$tmp/tus/dist/tus.min.js" "$tmp/tus/LICENSE" "$out/tus/"
# Swagger UI (the API docs page): the bundle (no eval; initialised by static/js/api-docs.js,
# so no inline script), its CSS, and the licence files. No source maps, no standalone preset.
mkdir -p "$out/swagger-ui"
cp "$tmp/swagger-ui/swagger-ui-bundle.js" "$tmp/swagger-ui/swagger-ui-bundle.js.LICENSE.txt" \
  "$tmp/swagger-ui/swagger-ui.css" "$tmp/swagger-ui/LICENSE" "$tmp/swagger-ui/NOTICE" "$out/swagger-ui/"
# uPlot (the monitoring charts): the minified browser build (IIFE: sets window.uPlot), its CSS
# and its licence; started from static/js/charts.js, so no inline script.
cp "$tmp/uplot/dist/uPlot.iife.min.js" "$tmp/uplot/dist/uPlot.min.css" "$tmp/uplot/LICENSE" "$out/uplot/"

# Same modes as committed (plain files 644), whatever the umask or the tarball says.
find "$out" -type d -exec chmod 755 {} +
find "$out" -type f -exec chmod 644 {} +

for pkg in htmx bootstrap novnc tus uplot; do
  rm -rf "${dest:?}/$pkg"
  cp -R "$out/$pkg" "$dest/$pkg"
done
rm -rf "${dest:?}/swagger-ui"
cp -R "$out/swagger-ui" "$dest/swagger-ui"
echo "vendor: swagger-ui-dist $SWAGGER_UI_VERSION -> $dest/swagger-ui/"
echo "vendor: htmx.org $HTMX_VERSION, bootstrap $BOOTSTRAP_VERSION, @novnc/novnc $NOVNC_VERSION, tus-js-client $TUS_VERSION, uplot $UPLOT_VERSION -> $dest/"
