// The domU list's selection: the boxes at the left of each row feed the bulk bar, whose one
// confirmation names every selected domU. The selection is kept by row id, so a row replaced by
// the poll (an out-of-band swap) or a page swapped by a sort link keeps its box as it was.
(() => {
  const chosen = new Map(); // row pk -> domU name
  const bar = () => document.getElementById("domain-bulk");
  const boxes = () => document.querySelectorAll("#domain-list input[name=ids][form=domain-bulk]");

  const refresh = () => {
    const form = bar();
    if (!form) return;
    const names = [...chosen.values()];
    form.querySelectorAll("button[name=action]").forEach((b) => { b.disabled = !names.length; });
    form.querySelector("[data-bulk-count]").textContent = names.length
      ? `${names.length} selected: ${names.slice(0, 6).join(", ")}${names.length > 6 ? ", …" : ""}`
      : "Select domUs to act on several at once.";
    // The form posts the boxes on the page; a chosen row on another page is posted from here.
    form.querySelectorAll("input[data-kept]").forEach((i) => i.remove());
    const shown = new Set([...boxes()].map((b) => b.value));
    chosen.forEach((_, pk) => {
      if (shown.has(pk)) return;
      const input = Object.assign(document.createElement("input"), { type: "hidden", name: "ids", value: pk });
      input.dataset.kept = "1";
      form.appendChild(input);
    });
    const all = document.querySelector("#domain-list [data-pick-all]");
    if (all) {
      const list = [...boxes()];
      all.checked = list.length > 0 && list.every((b) => b.checked);
      all.indeterminate = !all.checked && list.some((b) => b.checked);
    }
  };

  const restore = () => {
    boxes().forEach((b) => { b.checked = chosen.has(b.value); });
    const back = document.querySelector("#domain-bulk [data-bulk-back]");
    if (back) back.value = window.location.search.replace(/^\?/, "");
    refresh();
  };

  document.addEventListener("change", (event) => {
    const box = event.target;
    if (box.matches("#domain-list [data-pick-all]")) {
      boxes().forEach((b) => {
        b.checked = box.checked;
        if (box.checked) chosen.set(b.value, b.dataset.name); else chosen.delete(b.value);
      });
    } else if (box.matches("#domain-list input[name=ids]")) {
      if (box.checked) chosen.set(box.value, box.dataset.name); else chosen.delete(box.value);
    } else return;
    refresh();
  });

  // The button pressed decides the question; panel.js asks it before the form is sent.
  document.addEventListener("click", (event) => {
    const button = event.target.closest("#domain-bulk button[name=action]");
    if (!button) return;
    const names = [...chosen.values()];
    const warning = button.dataset.bulkWarning ? ` ${button.dataset.bulkWarning}` : "";
    bar().setAttribute(
      "data-confirm",
      `${button.dataset.bulkVerb} ${names.length} domU${names.length === 1 ? "" : "s"}: ${names.join(", ")}?${warning}`,
    );
  }, true);

  document.addEventListener("htmx:afterSettle", restore);
  document.addEventListener("htmx:oobAfterSwap", restore);
  document.addEventListener("DOMContentLoaded", restore);
  if (document.readyState !== "loading") restore();
})();
