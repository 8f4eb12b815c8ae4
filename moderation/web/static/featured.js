// "Candidates to feature": f features, d dismisses the selected candidate (j/k from review.js
// select it; without a selection, the first). Each key clicks the item's own form button, so the
// page works the same without this script.
(function () {
  "use strict";

  function selected() {
    return document.querySelector("[data-items] [data-item].selected") ||
      document.querySelector("[data-items] [data-item]");
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
    const form = { f: "form[data-feature]", d: "form[data-dismiss]" }[event.key];
    const item = form && selected();
    const button = item && item.querySelector(form + " button[type=submit]");
    if (!button) return;
    event.preventDefault();
    button.click();
  });
})();
