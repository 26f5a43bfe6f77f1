// The console page: ask the panel for a single-use ticket, connect noVNC through the proxy,
// and drive the toolbar (Ctrl-Alt-Del, paste text as keystrokes, reconnect).
// Loaded as an ES module next to noVNC's rfb.js (noVNC 1.7 is ESM only).
import KeyTable from "../vendor/novnc/core/input/keysym.js";

const XK = { Shift_L: 0xffe1, Return: 0xff0d, Tab: 0xff09, BackSpace: 0xff08 };
const CTRL = [KeyTable.XK_Control_L, "ControlLeft"];
const ALT = [KeyTable.XK_Alt_L, "AltLeft"];
const FKEYS = [1, 2, 3, 4, 5, 6].map((n) => [`ctrl-alt-f${n}`, [CTRL, ALT, [KeyTable[`XK_F${n}`], `F${n}`]]]);
// The "Send keys" menu: what the browser or the desktop would keep for itself. Each is a list
// of [keysym, code] pressed in order and released in reverse (code: the scancode for QEMU).
export const COMBOS = Object.freeze(Object.fromEntries([
  ["ctrl-alt-del", [CTRL, ALT, [KeyTable.XK_Delete, "Delete"]]],
  ["ctrl-alt-backspace", [CTRL, ALT, [KeyTable.XK_BackSpace, "Backspace"]]],
  ...FKEYS,
  ["print", [[KeyTable.XK_Print, "PrintScreen"]]],
  ["tab", [[KeyTable.XK_Tab, "Tab"]]],
  ["escape", [[KeyTable.XK_Escape, "Escape"]]],
]));

/** Press the keys of `combo` in order, then release them in reverse. */
export function sendCombo(rfb, combo) {
  combo.forEach(([keysym, code]) => rfb.sendKey(keysym, code, true));
  [...combo].reverse().forEach(([keysym, code]) => rfb.sendKey(keysym, code, false));
}
// US layout: the characters typed with Shift held.
const SHIFTED = '~!@#$%^&*()_+{}|:"<>?';

/** Return {keysym, shift} for one character, or null when it cannot be typed. */
export function keysymFor(ch) {
  const code = ch.codePointAt(0);
  if (ch === "\n") return { keysym: XK.Return, shift: false };
  if (ch === "\t") return { keysym: XK.Tab, shift: false };
  if (code >= 0x20 && code <= 0x7e) {
    return { keysym: code, shift: (ch >= "A" && ch <= "Z") || SHIFTED.includes(ch) };
  }
  if (code >= 0xa0 && code <= 0xff) return { keysym: code, shift: false }; // Latin-1 keysyms
  if (code > 0xff) return { keysym: 0x01000000 + code, shift: false }; // Unicode keysyms
  return null; // other control characters
}

/** Return the WebSocket URL for a ticket, from the CONSOLE_WS_URL setting. */
export function socketUrl(configured, ticket) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  let base;
  if (!configured) base = `${scheme}//${location.hostname}:6080/`;
  else if (configured.startsWith("/")) base = `${scheme}//${location.host}${configured}`;
  else base = configured;
  return `${base}${base.includes("?") ? "&" : "?"}token=${encodeURIComponent(ticket)}`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function startConsole(RFB, app) {
  const screen = app.querySelector("[data-console-screen]");
  const status = app.querySelector("[data-console-status]");
  const detail = app.querySelector("[data-console-detail]");
  const actions = app.querySelectorAll("[data-needs-connection]");
  const pasteBox = app.querySelector("[data-paste-text]");
  const pasteInfo = app.querySelector("[data-paste-info]");
  let rfb = null;
  let failure = "";

  function setStatus(state, text, more = "") {
    const colours = { connecting: "secondary", connected: "success", disconnected: "danger" };
    status.className = `badge text-bg-${colours[state]}`;
    status.textContent = text;
    detail.textContent = more;
    app.dataset.state = state;
    actions.forEach((button) => { button.disabled = state !== "connected"; });
  }

  async function ticket() {
    const response = await fetch(app.dataset.ticketUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": app.dataset.csrf, Accept: "application/json" },
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const reason = response.status === 403
        ? "Your role may not open consoles."
        : data.error || `The panel refused a console ticket (HTTP ${response.status}).`;
      throw new Error(reason);
    }
    return data;
  }

  async function connect() {
    if (rfb) {
      const old = rfb;
      rfb = null;
      old.disconnect();
    }
    failure = "";
    setStatus("connecting", "Connecting…", "asking the panel for a ticket");
    let data;
    try {
      data = await ticket();
    } catch (error) {
      setStatus("disconnected", "Not connected", error.message);
      return;
    }
    setStatus("connecting", "Connecting…", "opening the connection to the VNC server");
    const options = { shared: true };
    if (data.password) options.credentials = { password: data.password };
    const conn = new RFB(screen, socketUrl(data.ws_url ?? app.dataset.wsUrl, data.ticket), options);
    conn.scaleViewport = app.querySelector("[data-scale]")?.checked ?? true;
    conn.focusOnClick = true;
    conn.addEventListener("connect", () => {
      if (conn !== rfb) return;
      setStatus("connected", "Connected", app.dataset.desktop || "");
      conn.focus();
    });
    conn.addEventListener("desktopname", (event) => {
      app.dataset.desktop = event.detail.name;
      if (app.dataset.state === "connected") detail.textContent = event.detail.name;
    });
    conn.addEventListener("credentialsrequired", () => {
      const password = data.password ?? window.prompt("VNC password");
      conn.sendCredentials({ password: password ?? "" });
    });
    conn.addEventListener("securityfailure", (event) => {
      failure = `VNC authentication failed${event.detail.reason ? `: ${event.detail.reason}` : ""}.`;
    });
    conn.addEventListener("disconnect", (event) => {
      if (conn !== rfb) return;
      rfb = null;
      const reason = failure || (event.detail.clean
        ? "The VNC server closed the connection."
        : "The connection was refused or lost (is the domU running and the console proxy up?).");
      setStatus("disconnected", "Disconnected", `${reason} Press Reconnect for a new ticket.`);
    });
    rfb = conn;
  }

  async function typeText(text) {
    if (!rfb) return;
    const chars = Array.from(text.replace(/\r\n?/g, "\n"));
    let skipped = 0;
    for (let i = 0; i < chars.length; i += 1) {
      const key = keysymFor(chars[i]);
      if (!rfb) return;
      if (!key) { skipped += 1; continue; }
      if (key.shift) rfb.sendKey(XK.Shift_L, "ShiftLeft", true);
      rfb.sendKey(key.keysym, null);
      if (key.shift) rfb.sendKey(XK.Shift_L, "ShiftLeft", false);
      if (i % 16 === 15) {
        pasteInfo.textContent = `Typing… ${i + 1} / ${chars.length}`;
        await sleep(15); // let slow guests' keyboard buffers keep up
      }
    }
    pasteInfo.textContent = `Typed ${chars.length - skipped} characters${skipped ? ` (${skipped} skipped)` : ""}.`;
  }

  app.querySelector("[data-action=reconnect]").addEventListener("click", connect);
  app.querySelector("[data-action=ctrl-alt-del]").addEventListener("click", () => {
    if (rfb) { rfb.sendCtrlAltDel(); rfb.focus(); }
  });
  app.querySelector("[data-action=paste]").addEventListener("click", () => typeText(pasteBox.value));
  wireKeysMenu(app, () => rfb);
  wireFullscreen(app);
  app.querySelector("[data-scale]")?.addEventListener("change", (event) => {
    if (rfb) rfb.scaleViewport = event.target.checked;
  });
  window.xenpanelConsole = { get rfb() { return rfb; }, connect, typeText, keysymFor };
  connect();
}

// The "Send keys" dropdown, opened by its own button (the page does not load Bootstrap's JS).
function wireKeysMenu(app, currentRfb) {
  const holder = app.querySelector("[data-keys-menu]");
  if (!holder) return;
  const toggle = holder.querySelector("[data-action=keys-menu]");
  const menu = holder.querySelector(".dropdown-menu");
  const show = (open) => {
    menu.classList.toggle("show", open);
    toggle.setAttribute("aria-expanded", String(open));
  };
  toggle.addEventListener("click", (event) => {
    event.stopPropagation();
    show(!menu.classList.contains("show"));
  });
  document.addEventListener("click", (event) => {
    if (!holder.contains(event.target)) show(false);
  });
  menu.addEventListener("click", (event) => {
    const item = event.target.closest("[data-keys]");
    const combo = item && COMBOS[item.dataset.keys];
    const rfb = currentRfb();
    if (!combo) return;
    show(false);
    if (!rfb) return;
    sendCombo(rfb, combo);
    app.dataset.lastKeys = item.dataset.keys;
    rfb.focus();
  });
}

// Full screen on the console stage (toolbar and screen); noVNC rescales when the screen's
// size changes (a ResizeObserver), so "Scale to fit" keeps the whole desktop visible.
function wireFullscreen(app) {
  const stage = app.querySelector("[data-console-stage]");
  const button = app.querySelector("[data-action=fullscreen]");
  if (!stage || !button) return;
  if (!document.fullscreenEnabled) {
    button.disabled = true;
    button.title = "This browser does not allow full screen here.";
    return;
  }
  button.addEventListener("click", async () => {
    app.dataset.fullscreenRequested = "1";
    try {
      if (document.fullscreenElement === stage) await document.exitFullscreen();
      else await stage.requestFullscreen();
    } catch (error) {
      app.dataset.fullscreenError = error.message;
    }
  });
  document.addEventListener("fullscreenchange", () => {
    const on = document.fullscreenElement === stage;
    button.textContent = on ? "Leave full screen" : "Full screen";
    button.setAttribute("aria-pressed", String(on));
  });
}
