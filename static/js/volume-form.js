// Live preview of the zfs command on the new-volume page (display only; the server builds the argv).
// A size is written as the server writes it (dom0.validate.format_size): the shortest exact unit.
const UNITS = { K: 10, M: 20, G: 30, T: 40, P: 50, E: 60 };

function zfsSize(text) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:([KMGTPE])(?:i?B)?|(B))?\s*$/i.exec(text);
  if (!m) return text.trim() || "?";
  const unit = m[3] ? 0 : UNITS[(m[2] || "G").toUpperCase()]; // a bare number is GiB
  const bytes = Number(m[1]) * 2 ** unit;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) return text.trim();
  for (const letter of ["E", "P", "T", "G", "M", "K"]) {
    const size = 2 ** UNITS[letter];
    if (bytes % size === 0) return `${bytes / size}${letter}`;
  }
  return String(bytes);
}

document.addEventListener("input", () => {
  const name = document.getElementById("id_name"), size = document.getElementById("id_size");
  const sparse = document.getElementById("id_sparse");
  const code = document.getElementById("volume-preview");
  if (!name || !size || !sparse || !code) return;
  document.querySelector('[data-preview="name"]').textContent = name.value || "name";
  const shown = zfsSize(size.value);
  document.querySelector('[data-preview="size"]').textContent = shown;
  // Say so when the typed size cannot be read, rather than show a command that would not run.
  const problem = document.querySelector('[data-preview="size-problem"]');
  const readable = /^\d+[KMGTPE]?$/.test(shown);
  if (problem) {
    problem.classList.toggle("d-none", readable);
    if (!readable) problem.textContent = "Cannot show the exact size: must be a size such as 20, 1.5 or 1536M.";
  }
  code.firstChild.textContent = sparse.checked ? "zfs create -s -V " : "zfs create -V ";
});
