// Small behaviours shared by every page: copy buttons, the phone-width navbar, confirmations.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const text = button.getAttribute("data-copy");
  const done = () => {
    const old = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = old; }, 1200);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done);
  } else {
    const area = document.createElement("textarea");
    area.value = text; document.body.appendChild(area); area.select();
    document.execCommand("copy"); area.remove(); done();
  }
});

// The navbar toggler at phone width (the panel ships Bootstrap's CSS only, not its JS).
document.addEventListener("click", (event) => {
  const toggler = event.target.closest("[data-panel-toggle]");
  if (!toggler) return;
  const target = document.getElementById(toggler.getAttribute("data-panel-toggle"));
  if (!target) return;
  const open = target.classList.toggle("show");
  toggler.setAttribute("aria-expanded", open ? "true" : "false");
});

// Confirmations: a Bootstrap-styled dialog instead of window.confirm(). `ask(question)` resolves
// true on Confirm, false on Cancel, Escape or a click beside the dialog.
const ask = (question) => new Promise((resolve) => {
  const modal = document.getElementById("confirm-modal");
  if (!modal) { resolve(window.confirm(question)); return; }
  const backdrop = document.createElement("div");
  backdrop.className = "modal-backdrop show";
  const previous = document.activeElement;
  modal.querySelector("[data-confirm-text]").textContent = question;
  const close = (answer) => {
    modal.hidden = true;
    modal.classList.remove("show");
    modal.style.display = "";
    backdrop.remove();
    document.body.classList.remove("modal-open");
    modal.removeEventListener("click", onClick);
    modal.removeEventListener("keydown", onKey);
    if (previous && previous.focus) previous.focus();
    resolve(answer);
  };
  const onClick = (event) => {
    if (event.target.closest("[data-confirm-ok]")) close(true);
    else if (event.target.closest("[data-confirm-cancel]") || event.target === modal) close(false);
  };
  const onKey = (event) => { if (event.key === "Escape") close(false); };
  modal.addEventListener("click", onClick);
  modal.addEventListener("keydown", onKey);
  document.body.appendChild(backdrop);
  document.body.classList.add("modal-open");
  modal.hidden = false;
  modal.style.display = "block";
  modal.classList.add("show");
  // Cancel has the focus: Enter on a destructive question does not destroy.
  modal.querySelector("[data-confirm-cancel]").focus();
});
// Other scripts (upload.js) ask through the same dialog.
window.panelConfirm = ask;

// A form with data-confirm="question" is sent only after Confirm; the button that submitted it
// is passed on, so its name/value still reach the server.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.getAttribute("data-confirm");
  if (!question) return;
  if (form.dataset.confirmed === "1") { delete form.dataset.confirmed; return; }
  event.preventDefault();
  event.stopPropagation();  // capture phase: htmx on the form never sees the unconfirmed submit
  const submitter = event.submitter;
  ask(question).then((yes) => {
    if (!yes) return;
    form.dataset.confirmed = "1";
    if (submitter && submitter.form === form) form.requestSubmit(submitter);
    else form.requestSubmit();
  });
}, true);

// hx-confirm="question": htmx asks through this event; the request is issued only on Confirm.
document.addEventListener("htmx:confirm", (event) => {
  const question = event.detail.question;
  if (!question) return;
  event.preventDefault();
  ask(question).then((yes) => { if (yes) event.detail.issueRequest(true); });
});

// "Back" on the error pages.
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-back]")) window.history.back();
});
