// The monitoring charts (uPlot, static/vendor/uplot/): host and domU load, pool fill, and the
// dashboard's sparklines. Everything comes from data- attributes (the CSP allows no inline script):
//
//   [data-chart-group]            a card with range buttons [data-range="1h"] for its targets
//     [data-chart-src="url"]      fetches url?window=… (monitoring/chart_data.py's JSON) and
//                                 draws each chart into itself ([data-chart-cols] per chart) or
//                                 into its [data-chart-slot]; [data-projection] gets the pool's
//   [data-dashboard-charts="url"] the dashboard's per-host sparklines and busiest domUs
//
// Colours are Bootstrap's CSS variables, read at draw time, so a theme switch redraws in kind.
// The script may be inserted again by an htmx swap: it sets itself up once per page.
(() => {
  if (window.xenpanelCharts) return;
  const REFRESH_MS = 60000;
  const charts = new Set(); // { plot, el, make } for redraws on resize and theme change

  const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  const rgba = (name, alpha) => `rgba(${css(name + "-rgb") || "13,110,253"},${alpha})`;
  const palette = () => [
    ["--bs-primary", 0.12], ["--bs-secondary", 0.08], ["--bs-success", 0.08], ["--bs-info", 0.08],
  ];

  const BIN = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  const human = (v) => {
    if (v == null) return "—";
    let i = 0; let n = Math.abs(v);
    while (n >= 1024 && i < BIN.length - 1) { n /= 1024; i += 1; }
    const s = n >= 100 || i === 0 ? n.toFixed(0) : n.toFixed(1);
    return `${v < 0 ? "-" : ""}${s} ${BIN[i]}`;
  };
  const format = (unit, v) => {
    if (v == null) return "—";
    if (unit === "pct") return `${v >= 10 ? v.toFixed(0) : v.toFixed(1)}%`;
    if (unit === "bps") return `${human(v)}/s`;
    return human(v);
  };

  const hasData = (data) => data[0].length > 0 && data.slice(1).some((s) => s.some((v) => v != null));

  // One uPlot chart: `chart` is the JSON's {title, unit, series, data}.
  const makePlot = (chart, el, width) => {
    const axis = { stroke: css("--bs-secondary-color"), grid: { stroke: css("--bs-border-color-translucent"), width: 1 },
      ticks: { stroke: css("--bs-border-color-translucent"), width: 1 }, font: "11px system-ui, sans-serif" };
    const colours = palette();
    const opts = {
      width, height: 150,
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, chart.max || Math.max(max * 1.1, chart.unit === "pct" ? 1 : 1024)] } },
      axes: [{ ...axis }, { ...axis, size: chart.unit === "pct" ? 48 : 80, values: (u, splits) => splits.map((v) => format(chart.unit, v)) }],
      series: [{}, ...chart.series.map((label, i) => {
        const [name, alpha] = colours[i % colours.length];
        return { label, stroke: css(name), fill: i === 0 ? rgba(name, alpha) : undefined, width: 1.5,
          value: (u, v) => format(chart.unit, v), spanGaps: false };
      })],
    };
    return new window.uPlot(opts, chart.data, el);
  };

  const sparkPlot = (data, el, width, height) => {
    const opts = {
      width, height, legend: { show: false }, cursor: { show: false },
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(100, max)] } },
      axes: [{ show: false }, { show: false }],
      series: [{}, { stroke: css("--bs-primary"), fill: rgba("--bs-primary", 0.15), width: 1, spanGaps: false }],
    };
    return new window.uPlot(opts, data, el);
  };

  const track = (el, make) => {
    const entry = { el, make, plot: make() };
    charts.add(entry);
    return entry;
  };
  const forget = (root) => {
    charts.forEach((entry) => {
      if (root.contains(entry.el)) { entry.plot.destroy(); charts.delete(entry); }
    });
  };

  // --- range groups and their targets -----------------------------------------------------------
  const drawTarget = (target, payload) => {
    forget(target);
    const slot = target.querySelector("[data-chart-slot]") || target;
    slot.replaceChildren();
    const projection = target.querySelector("[data-projection]");
    if (projection && payload.projection) {
      projection.textContent = payload.projection.text;
      projection.dataset.status = payload.projection.status;
      projection.className = `small ms-auto ${payload.projection.status === "filling" || payload.projection.status === "full" ? "text-warning-emphasis fw-semibold" : "text-body-secondary"}`;
    }
    payload.charts.forEach((chart) => {
      const col = document.createElement("div");
      col.className = target.dataset.chartCols || "";
      col.dataset.chart = chart.id;
      if (!target.querySelector("[data-chart-slot]")) {
        const title = document.createElement("div");
        title.className = "small fw-semibold mb-1";
        title.textContent = chart.title;
        col.appendChild(title);
      }
      const box = document.createElement("div");
      box.className = "chart-box";
      col.appendChild(box);
      slot.appendChild(col);
      if (!hasData(chart.data)) {
        box.classList.add("chart-empty");
        box.textContent = "No samples in this range yet.";
        return;
      }
      track(box, () => makePlot(chart, box, Math.max(box.clientWidth, 120)));
    });
  };

  const load = (target) => {
    const group = target.closest("[data-chart-group]");
    const win = (group && group.dataset.window) || target.dataset.window || "1h";
    const url = `${target.dataset.chartSrc}?window=${encodeURIComponent(win)}`;
    target.setAttribute("aria-busy", "true");
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => { if (!r.ok) throw new Error(`${r.status}`); return r.json(); })
      .then((payload) => { target.dataset.drawn = payload.window; drawTarget(target, payload); })
      .catch((err) => {
        forget(target);
        const slot = target.querySelector("[data-chart-slot]") || target;
        slot.textContent = `Could not load the chart (${err.message}).`;
        slot.className += " small text-body-secondary";
      })
      .finally(() => target.removeAttribute("aria-busy"));
  };

  // Draw a target when it first scrolls into view (the Storage page may list many pools).
  const seen = "IntersectionObserver" in window ? new IntersectionObserver((entries) => {
    entries.forEach((e) => { if (e.isIntersecting) { seen.unobserve(e.target); load(e.target); } });
  }, { rootMargin: "200px" }) : null;

  const setUpGroup = (group) => {
    if (group.dataset.chartsReady) return;
    group.dataset.chartsReady = "1";
    group.dataset.window = group.dataset.window || "1h";
    group.querySelectorAll("[data-range]").forEach((b) => {
      const on = b.dataset.range === group.dataset.window;
      b.setAttribute("aria-pressed", String(on));
      b.classList.toggle("active", on);
    });
    group.querySelectorAll("[data-chart-src]").forEach((t) => (seen ? seen.observe(t) : load(t)));
  };

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-chart-group] [data-range]");
    if (!button) return;
    const group = button.closest("[data-chart-group]");
    group.dataset.window = button.dataset.range;
    group.querySelectorAll("[data-range]").forEach((b) => {
      const on = b === button;
      b.setAttribute("aria-pressed", String(on));
      b.classList.toggle("active", on);
    });
    group.querySelectorAll("[data-chart-src]").forEach((t) => { if (t.dataset.drawn) load(t); });
  });

  // --- dashboard ----------------------------------------------------------------------------------
  const cell = (tag, text, cls) => {
    const el = document.createElement(tag);
    if (text != null) el.textContent = text;
    if (cls) el.className = cls;
    return el;
  };

  const drawDashboard = (root, summary) => {
    forget(root);
    const hosts = root.querySelector("[data-host-sparks]");
    hosts.replaceChildren();
    summary.hosts.forEach((h) => {
      const tr = document.createElement("tr");
      tr.dataset.host = h.name;
      tr.appendChild(cell("td", h.name, "text-nowrap"));
      const td = cell("td", null, "w-100");
      const box = cell("div", null, "spark-box");
      box.dataset.testid = "host-sparkline";
      td.appendChild(box);
      tr.appendChild(td);
      tr.appendChild(cell("td", h.last == null ? "—" : format("pct", h.last), "text-end text-nowrap"));
      hosts.appendChild(tr);
      if (h.data[0].length) track(box, () => sparkPlot(h.data, box, Math.max(box.clientWidth, 60), 24));
      else { box.classList.add("chart-empty"); box.textContent = "no samples"; }
    });
    if (!summary.hosts.length) hosts.appendChild(cell("tr")).appendChild(cell("td", "No hosts yet.", "text-body-secondary")).colSpan = 3;
    const top = root.querySelector("[data-top-domus]");
    top.replaceChildren();
    summary.top.forEach((d) => {
      const tr = document.createElement("tr");
      tr.dataset.domain = d.name;
      const name = cell("td");
      const a = cell("a", d.name, "fw-semibold");
      a.href = d.url;
      name.appendChild(a);
      tr.append(name, cell("td", d.host), cell("td", format("pct", d.cpu), "text-end"));
      top.appendChild(tr);
    });
    if (!summary.top.length) top.appendChild(cell("tr")).appendChild(cell("td", "No domU samples in the last 15 minutes.", "text-body-secondary")).colSpan = 3;
  };

  const loadDashboard = (root) => fetch(root.dataset.dashboardCharts, { credentials: "same-origin" })
    .then((r) => { if (!r.ok) throw new Error(`${r.status}`); return r.json(); })
    .then((summary) => { root.dataset.drawn = "1"; drawDashboard(root, summary); })
    .catch(() => { /* keep what is drawn; the next refresh tries again */ });

  // --- set-up, refresh, redraws -------------------------------------------------------------------
  const scan = (root) => {
    root.querySelectorAll("[data-chart-group]").forEach(setUpGroup);
    root.querySelectorAll("[data-dashboard-charts]").forEach((el) => {
      if (el.dataset.chartsReady) return;
      el.dataset.chartsReady = "1";
      loadDashboard(el);
    });
  };

  const redraw = () => charts.forEach((entry) => {
    entry.plot.destroy();
    entry.el.replaceChildren();
    entry.plot = entry.make();
  });

  let width = window.innerWidth;
  let pending = null;
  window.addEventListener("resize", () => {
    if (window.innerWidth === width) return;
    width = window.innerWidth;
    clearTimeout(pending);
    pending = setTimeout(redraw, 150);
  });
  new MutationObserver(redraw).observe(document.documentElement, { attributes: true, attributeFilter: ["data-bs-theme"] });

  setInterval(() => {
    if (document.hidden) return;
    charts.forEach((entry) => { if (!document.contains(entry.el)) { entry.plot.destroy(); charts.delete(entry); } });
    document.querySelectorAll("[data-chart-group]").forEach((group) => {
      // A day, a week or a month barely moves in a minute: only the short ranges refresh.
      if (group.dataset.window !== "1h" && group.dataset.window !== "1d") return;
      group.querySelectorAll("[data-chart-src][data-drawn]").forEach(load);
    });
    document.querySelectorAll("[data-dashboard-charts][data-drawn]").forEach(loadDashboard);
  }, REFRESH_MS);

  window.xenpanelCharts = { scan, redraw };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => scan(document));
  else scan(document);
  document.addEventListener("htmx:load", (event) => scan(event.detail.elt));
})();
