// Colour theme. Loaded without `defer` in <head> so data-bs-theme is set before the first paint
// (no flash of the light theme in a dark system). "auto" follows prefers-color-scheme, also when
// it changes while the page is open; the choice is remembered in localStorage.
(() => {
  const KEY = "xenpanel-theme";
  const dark = window.matchMedia("(prefers-color-scheme: dark)");
  const stored = () => {
    try { return localStorage.getItem(KEY) || "auto"; } catch (e) { return "auto"; }
  };
  const apply = () => {
    const choice = stored();
    const theme = choice === "auto" ? (dark.matches ? "dark" : "light") : choice;
    document.documentElement.setAttribute("data-bs-theme", theme);
    document.documentElement.setAttribute("data-theme-choice", choice);
    document.querySelectorAll("[data-theme-select]").forEach((el) => { el.value = choice; });
  };
  apply();
  dark.addEventListener("change", apply);
  document.addEventListener("DOMContentLoaded", apply);
  document.addEventListener("change", (event) => {
    const select = event.target.closest("[data-theme-select]");
    if (!select) return;
    try { localStorage.setItem(KEY, select.value); } catch (e) { /* private mode: this page only */ }
    apply();
  });
})();
