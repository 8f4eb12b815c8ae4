// Keyboard shortcuts for the review page. Progressive enhancement: every action is a plain form
// that works without this script. j/k move, Enter/o open, a approve, r reject (pick the site rule,
// then Enter), u undo your own last decision, x select for bulk, ? help, Esc close.
// A focused link, button or field keeps its own keys: Enter on "Log out" logs out.
(function () {
  "use strict";
  const items = () => Array.from(document.querySelectorAll("[data-items] [data-item]"));
  let index = -1;

  function select(i, scroll = true) {
    const list = items();
    if (!list.length) return;
    index = Math.max(0, Math.min(i, list.length - 1));
    list.forEach((el, n) => el.classList.toggle("selected", n === index));
    list[index].focus({ preventScroll: true });
    if (scroll) list[index].scrollIntoView({ block: "nearest" });
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
    if (button) button.click(); else form.requestSubmit();
    return true;
  }

  function toggleHelp(force) {
    const help = document.getElementById("help");
    if (!help) return false;
    const wasOpen = !help.hidden;
    help.hidden = force === undefined ? !help.hidden : !force;
    return wasOpen;
  }

  function ruleHint(rule, show) {
    const hint = rule.form && rule.form.querySelector("[data-rule-hint]");
    if (hint) hint.hidden = !show;
  }

  function leaveRule(rule) {
    ruleHint(rule, false);
    rule.blur();
    const item = current();
    if (item) item.focus({ preventScroll: true });
  }

  // Keys on the site-rule list that r focused: Enter rejects once a rule is chosen (without one it
  // says so, instead of opening the list), Esc, j, k and ? leave it. Other letters pick a rule.
  function onRuleKey(event, rule) {
    switch (event.key) {
      case "Enter":
        event.preventDefault();
        if (!rule.value) ruleHint(rule, true);
        else (rule.form.querySelector("button[value=reject]") || rule.form.querySelector("button[type=submit]")).click();
        return;
      case "Escape":
        event.preventDefault();
        if (!toggleHelp(false)) leaveRule(rule);
        return;
      case "?":
        event.preventDefault();
        toggleHelp();
        return;
      case "j": case "k":
        event.preventDefault();
        leaveRule(rule);
        if (items().length) select(index + (event.key === "j" ? 1 : -1));
        return;
      default:
    }
  }

  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-help-toggle]")) toggleHelp();
    const more = event.target.closest("[data-show-all]");
    if (more) {
      const text = document.getElementById(more.getAttribute("aria-controls"));
      const open = text.classList.toggle("collapsed") === false;
      more.setAttribute("aria-expanded", String(open));
      more.textContent = open ? more.dataset.lessLabel : more.dataset.moreLabel;
    }
  });

  document.addEventListener("change", (event) => {
    if (event.target.matches("select[data-reject-rule]") && event.target.value) ruleHint(event.target, false);
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.matches && target.matches("select[data-reject-rule]")) { onRuleKey(event, target); return; }
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
    if ((event.key === "Enter" || event.key === " ") && target.closest && target.closest("a[href], button, summary")) return;
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
        if (!submit(document.getElementById("undo-last"))) return;
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

  document.addEventListener("DOMContentLoaded", () => {
    // Long comments start collapsed; the server renders them whole, so without script all is shown.
    document.querySelectorAll("[data-show-all]").forEach((button) => {
      const text = document.getElementById(button.getAttribute("aria-controls"));
      if (!text) return;
      text.classList.add("collapsed");
      button.hidden = false;
    });
    // Select the first item without scrolling: on a phone it sits below the filters.
    if (items().length) select(0, false);
  });
})();
