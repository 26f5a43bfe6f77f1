// Resumable ISO upload over tus 1.0 with tus-js-client (static/vendor/tus, `window.tus`):
// POST /api/v1/uploads/ creates the upload, PATCH chunks send the bytes; after a network error
// the client asks (HEAD) how many bytes the panel has and continues from there, and a page
// opened later resumes from the URL it stored in localStorage. Server: storage/api_uploads.py.
// Without this script (or tus) the form posts the whole file as multipart instead.
(() => {
  const form = document.getElementById("upload-form");
  if (!form || !window.File || !window.tus || !window.tus.isSupported) return;
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
  const hostCodes = JSON.parse(document.getElementById("upload-host-codes").textContent);
  let current = null; // {upload, isoPage, complete, cancelled}

  const human = (n) => {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return `${i ? n.toFixed(1) : n} ${units[i]}`;
  };
  const field = (name) => (form.querySelector(`[name=${name}]`) || {}).value || "";

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
  // The panel answers errors as {"detail", "code", "fields"}; say what it said.
  function explain(err) {
    const res = err && err.originalResponse;
    if (!res) return "The panel did not answer; check the connection and upload again (it resumes).";
    let body = null;
    try { body = JSON.parse(res.getBody()); } catch (e) { body = null; }
    if (!body) return `The panel refused the upload (HTTP ${res.getStatus()}).`;
    const fields = Object.entries(body.fields || {}).map(
      ([f, list]) => (f === "__all__" ? "" : `${f}: `) + list.join(" "));
    return fields.join("\n") || body.detail || `The panel refused the upload (HTTP ${res.getStatus()}).`;
  }

  input.addEventListener("change", () => {
    const file = input.files[0];
    if (file && nameInput && !nameInput.value) nameInput.value = file.name.replace(/[^A-Za-z0-9._+-]/g, "_");
  });

  function newUpload(file) {
    const started = performance.now();
    let startOffset = null;
    const metadata = { filename: nameInput.value, host: hostCodes[field("host")] || field("host") };
    if (field("checksum").trim()) metadata.checksum = field("checksum").trim();
    if (field("team")) metadata.team = field("team");
    return new window.tus.Upload(file, {
      endpoint: form.dataset.endpoint,
      chunkSize,
      metadata,
      headers: { "X-CSRFToken": csrf },
      // Back off up to 15 s, for about ten minutes; the panel keeps every byte it received.
      retryDelays: [1000, 2000, 4000, 8000, 15000].concat(Array(40).fill(15000)),
      // The same file for the same host and name resumes; another host or name starts anew.
      fingerprint: (f) => Promise.resolve(
        ["xenpanel-tus", metadata.host, metadata.filename, f.name, f.size, f.lastModified].join(":")),
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      onAfterResponse: (req, res) => {
        const page = res.getHeader("Xenpanel-Iso");
        if (page) current.isoPage = page;
      },
      onShouldRetry: (err, attempt, options) => {
        const status = err.originalResponse ? err.originalResponse.getStatus() : 0;
        if (status >= 400 && status < 500 && status !== 409 && status !== 423) return false;
        if (current.cancelled) return status === 0 || status >= 500; // the DELETE: retry a lost link only
        const wait = options.retryDelays[attempt] || 0;
        show(current.offset, file.size, `Connection lost; retrying in ${Math.round(wait / 1000)} s…`);
        return true;
      },
      onProgress: (sent, total) => {
        current.offset = sent;
        if (startOffset === null) startOffset = sent;
        const secs = (performance.now() - started) / 1000;
        show(sent, total, `Uploading: ${human(sent)} of ${human(total)}`);
        if (secs > 0.5) rate.textContent = `${human((sent - startOffset) / secs)}/s`;
      },
      onSuccess: () => {
        current.complete = true;
        show(file.size, file.size, "Received. The panel now copies it to the host…");
        fill.classList.remove("progress-bar-animated");
        fill.classList.add("bg-success");
        cancelButton.hidden = true;
        if (current.isoPage) setTimeout(() => { window.location.href = current.isoPage; }, 800);
      },
      onError: (err) => { if (!current.cancelled) fail(explain(err)); },
    });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errorBox.hidden = true;
    rate.textContent = "";
    fill.classList.remove("bg-danger", "bg-success");
    fill.classList.add("progress-bar-animated");
    const file = input.files[0];
    if (!file) { fail("Choose an ISO file to upload."); return; }
    if (file.size > maxBytes) { fail(`The file is larger than the upload limit (${human(maxBytes)}).`); return; }
    if (nameInput && !nameInput.value) nameInput.value = file.name.replace(/[^A-Za-z0-9._+-]/g, "_");
    submit.disabled = true;
    cancelButton.hidden = false;
    current = { upload: null, isoPage: "", complete: false, cancelled: false, offset: 0 };
    current.upload = newUpload(file);
    const previous = await current.upload.findPreviousUploads();
    if (previous.length) {
      current.upload.resumeFromPreviousUpload(previous[0]);
      show(0, file.size, "Resuming where an earlier upload of this file stopped…");
    } else {
      show(0, file.size, "Uploading…");
    }
    current.upload.start();
  });

  cancelButton.addEventListener("click", async () => {
    if (!current || current.complete || !current.upload) return;
    const confirmed = window.panelConfirm || ((q) => Promise.resolve(window.confirm(q)));
    if (!(await confirmed("Discard this upload? The bytes received so far are deleted."))) return;
    current.cancelled = true;
    try {
      // abort(true): stop sending, then DELETE the upload (tus termination) and forget its URL.
      await current.upload.abort(true);
    } catch (err) {
      // 409: the last chunk completed the file just before; it belongs to the copy job now.
      const res = err && err.originalResponse;
      if (res && res.getStatus() === 409) {
        current.complete = true;
        fail(explain(err));
        if (current.isoPage) setTimeout(() => { window.location.href = current.isoPage; }, 2500);
        return;
      }
      if (res && res.getStatus() !== 404 && res.getStatus() !== 410) { fail(explain(err)); return; }
    }
    fail("Upload cancelled.");
  });
})();
