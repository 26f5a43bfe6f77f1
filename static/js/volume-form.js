// Live preview of the zfs command on the new-volume page (display only; the server builds the argv).
document.addEventListener("input", () => {
  const name = document.getElementById("id_name"), size = document.getElementById("id_size");
  const sparse = document.getElementById("id_sparse");
  const code = document.getElementById("volume-preview");
  if (!name || !size || !sparse || !code) return;
  document.querySelector('[data-preview="name"]').textContent = name.value || "name";
  document.querySelector('[data-preview="size"]').textContent = size.value || "20G";
  code.firstChild.textContent = sparse.checked ? "zfs create -s -V " : "zfs create -V ";
});
