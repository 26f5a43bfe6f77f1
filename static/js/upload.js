// Resumable ISO upload: send the file in chunks (Blob.slice + PUT with Upload-Offset); after a
// network error ask the server how many bytes it has and continue from there. Protocol:
// hosts/uploads.py. Without this script the form posts the whole file as multipart instead.
(() => {
  const form = document.getElementById("upload-form");
  if (!form || !window.File || !window.XMLHttpRequest) return;
  const input = document.getElementById("id_file");
  const nameInput = document.getElementById("id_file_name");
  const box = document.getElementById("upload-progress");
  const bar = box.querySelector(".progress");
  const fill = box.querySelector(".progress-bar");
  const message = document.getElementById("upload-message");
  const rate = document.getElementById("upload-rate");
  const errorBox = document.getElementById("upload-error");
  const submit = document.getElementById("upload-submit");
  const cancelButton = document.getElementById("upload-cancel");
  const chunkSize = parseInt(form.dataset.chunkSize, 10);
  const maxBytes = parseInt(form.dataset.maxBytes, 10);
  const csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  let current = null; // {session, xhr, cancelled, complete}

  const human = (n) => {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return `${i ? n.toFixed(1) : n} ${units[i]}`;
  };
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  function show(done, total, text) {
    const pct = total ? Math.floor((100 * done) / total) : 0;
    box.hidden = false;
    bar.setAttribute("aria-valuenow", String(pct));
    fill.style.width = `${pct}%`;
    fill.textContent = `${pct}%`;
    if (text) message.textContent = text;
  }
  function fail(text) {
    errorBox.textContent = text;
    errorBox.hidden = false;
    fill.classList.remove("progress-bar-animated");
    fill.classList.add("bg-danger");
    submit.disabled = false;
    cancelButton.hidden = true;
  }
  function fieldErrors(body) {
    const errors = (body && body.errors) || {};
    return Object.entries(errors).map(([f, list]) => (f === "__all__" ? "" : `${f}: `) + list.join(" ")).join("\n")
      || (body && body.error) || "The server refused the upload.";
  }

  // One XHR at a time; resolves with {status, body} (status 0 = the network failed).
  function send(method, url, body, headers, onProgress) {
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      if (current) current.xhr = xhr;
      xhr.open(method, url);
      xhr.setRequestHeader("X-CSRFToken", csrf);
      xhr.setRequestHeader("Accept", "application/json");
      Object.entries(headers || {}).forEach(([k, v]) => xhr.setRequestHeader(k, v));
      if (onProgress) xhr.upload.onprogress = (e) => onProgress(e.loaded);
      xhr.onload = () => {
        let parsed = null;
        try { parsed = JSON.parse(xhr.responseText); } catch (e) { parsed = null; }
        resolve({ status: xhr.status, body: parsed });
      };
      xhr.onerror = xhr.ontimeout = xhr.onabort = () => resolve({ status: 0, body: null });
      xhr.send(body);
    });
  }

  function resumeKey(file) {
    const host = (form.querySelector("[name=host]") || {}).value || "";
    return `xenpanel-upload:${host}:${file.name}:${file.size}:${file.lastModified}`;
  }

  async function startSession(file) {
    const key = resumeKey(file);
    const saved = window.localStorage && localStorage.getItem(key);
    if (saved) {
      const r = await send("GET", saved);
      if (r.status === 200 && r.body && r.body.state === "receiving" && r.body.size === file.size) {
        return r.body; // continue where an earlier page left off
      }
      localStorage.removeItem(key);
    }
    const data = new FormData(form);
    data.delete("file");
    data.set("size", String(file.size));
    const r = await send("POST", form.dataset.createUrl, data);
    if (r.status !== 201) throw new Error(r.status ? fieldErrors(r.body) : "The panel did not answer.");
    if (window.localStorage) localStorage.setItem(key, r.body.url);
    return r.body;
  }

  // Once the server has the whole file it belongs to the copy job: never DELETE it then.
  const finished = (body) => {
    if (body && body.state === "complete") current.complete = true;
    return current.complete;
  };

  async function upload(file) {
    current = { session: null, xhr: null, cancelled: false, complete: false };
    const session = await startSession(file);
    current.session = session;
    let offset = session.offset;
    let failures = 0;
    const started = performance.now();
    const startOffset = offset;
    show(offset, file.size, offset ? `Resuming at ${human(offset)}…` : "Uploading…");
    while (offset < file.size) {
      if (current.cancelled) return null;
      const end = Math.min(offset + chunkSize, file.size);
      const r = await send("PUT", session.url, file.slice(offset, end), {
        "Content-Type": "application/octet-stream", "Upload-Offset": String(offset),
      }, (loaded) => {
        const done = offset + loaded;
        const secs = (performance.now() - started) / 1000;
        show(Math.min(done, file.size), file.size, `Uploading: ${human(done)} of ${human(file.size)}`);
        if (secs > 0.5) rate.textContent = `${human((done - startOffset) / secs)}/s`;
      });
      if (current.cancelled) return null;
      if (r.status === 200 || r.status === 409) {
        if (r.status === 200) failures = 0;
        if (r.body && typeof r.body.offset === "number") offset = r.body.offset;
        if (finished(r.body)) return r.body;
        if (r.status === 409) await sleep(500);
        continue;
      }
      if (r.status !== 0 && r.status < 500) throw new Error(fieldErrors(r.body));
      // The connection dropped (or the server hiccuped): ask what it has, then go on from there.
      failures += 1;
      if (failures > 30) throw new Error("The connection keeps failing; try again later (the upload will resume).");
      const wait = Math.min(15000, 500 * 2 ** Math.min(failures, 5));
      show(offset, file.size, `Connection lost; retrying in ${Math.round(wait / 1000)} s…`);
      await sleep(wait);
      if (current.cancelled) return null;
      const head = await send("GET", session.url);
      if (head.status === 200 && head.body) {
        offset = head.body.offset;
        if (finished(head.body)) return head.body;
        if (head.body.state !== "receiving") throw new Error(head.body.error || `The upload is ${head.body.state}.`);
      }
    }
    const last = await send("GET", session.url);
    finished(last.body);
    return last.body;
  }

  input.addEventListener("change", () => {
    const file = input.files[0];
    if (file && nameInput && !nameInput.value) nameInput.value = file.name.replace(/[^A-Za-z0-9._+-]/g, "_");
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errorBox.hidden = true;
    fill.classList.remove("bg-danger", "bg-success");
    fill.classList.add("progress-bar-animated");
    const file = input.files[0];
    if (!file) { fail("Choose an ISO file to upload."); return; }
    if (file.size > maxBytes) { fail(`The file is larger than the upload limit (${human(maxBytes)}).`); return; }
    if (nameInput && !nameInput.value) nameInput.value = file.name.replace(/[^A-Za-z0-9._+-]/g, "_");
    submit.disabled = true;
    cancelButton.hidden = false;
    try {
      const result = await upload(file);
      if (!result) return;
      if (result.state !== "complete") throw new Error(result.error || "The upload did not complete.");
      if (window.localStorage) localStorage.removeItem(resumeKey(file));
      show(file.size, file.size, "Received. The panel now copies it to the host…");
      fill.classList.remove("progress-bar-animated");
      fill.classList.add("bg-success");
      cancelButton.hidden = true;
      setTimeout(() => { window.location.href = result.iso_url; }, 800);
    } catch (err) {
      fail(err.message);
    }
  });

  cancelButton.addEventListener("click", async () => {
    if (!current || current.complete) return;
    const confirmed = window.panelConfirm || ((q) => Promise.resolve(window.confirm(q)));
    if (!(await confirmed("Discard this upload?"))) return;
    current.cancelled = true;
    if (current.xhr) current.xhr.abort();
    const file = input.files[0];
    if (file && window.localStorage) localStorage.removeItem(resumeKey(file));
    if (current.session && !current.complete) {
      // The last chunk may have completed the file on the server just before the abort.
      const r = await send("DELETE", current.session.url);
      if (r.status === 409 && r.body && r.body.state === "complete") {
        current.complete = true;
        fail(r.body.error);
        if (r.body.iso_url) setTimeout(() => { window.location.href = r.body.iso_url; }, 2500);
        return;
      }
    }
    fail("Upload cancelled.");
  });
})();
