// Keyboard shortcuts for the review page. Progressive enhancement: every action is a plain form
// that works without this script. j/k move, Enter/o open, a approve, r reject (pick the site rule,
// then Enter), u undo, x select for bulk, ? help, Esc close.
(function () {
  "use strict";
  const items = () => Array.from(document.querySelectorAll("[data-items] [data-item]"));
  let index = -1;

  function select(i) {
    const list = items();
    if (!list.length) return;
    index = Math.max(0, Math.min(i, list.length - 1));
    list.forEach((el, n) => el.classList.toggle("selected", n === index));
    list[index].focus({ preventScroll: true });
    list[index].scrollIntoView({ block: "nearest" });
  }

  function current() {
    const list = items();
    if (list.length) return list[index >= 0 ? index : 0];
    return document.querySelector(".main[data-item]");
  }

  function submit(form) {
    // Submit through the form's button so its name=value (e.g. action=approve) is sent.
    if (!form) return false;
    const button = form.querySelector("button[type=submit]");
    if (button) button.click(); else form.submit();
    return true;
  }

  function toggleHelp(force) {
    const help = document.getElementById("help");
    if (!help) return;
    help.hidden = force === undefined ? !help.hidden : !force;
  }

  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-help-toggle]")) toggleHelp();
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.matches && target.matches("select[data-reject-rule]")) {
      if (event.key === "Enter" && target.value) { event.preventDefault(); submit(target.form); }
      if (event.key === "Escape") { target.blur(); }
      return;
    }
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
    const item = current();
    switch (event.key) {
      case "j":
        if (items().length) select(index + 1);
        else { const next = document.querySelector("[data-next]"); if (next) location.href = next.href; }
        break;
      case "k":
        if (items().length) select(index - 1);
        else { const prev = document.querySelector("[data-prev]"); if (prev) location.href = prev.href; }
        break;
      case "Enter": case "o":
        if (item && item.dataset.open) location.href = item.dataset.open;
        break;
      case "a":
        if (!item || !submit(item.querySelector("form[data-approve]") || document.querySelector("form[data-approve]"))) return;
        break;
      case "r": {
        const form = (item && item.querySelector("form[data-reject]")) || document.querySelector("form[data-reject]");
        const rule = form && form.querySelector("select[data-reject-rule]");
        if (!rule) return;
        rule.focus();
        break;
      }
      case "u":
        if (!submit((item && item.querySelector("form[data-undo]")) || document.querySelector("form[data-undo]"))) return;
        break;
      case "x": {
        const box = item && item.querySelector("[data-select]");
        if (box) box.checked = !box.checked;
        break;
      }
      case "?": toggleHelp(); break;
      case "Escape": toggleHelp(false); break;
      default: return;
    }
    event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", () => { if (items().length) select(0); });
})();
