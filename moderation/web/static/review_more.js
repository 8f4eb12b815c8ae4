// Review page additions, progressive like review.js: "select all on this page" for bulk actions, and
// the live queue, which polls a small JSON view every few seconds and shows new comments, who is
// reviewing which comment and what others decided, without reloading (so nothing typed is lost).
(function () {
  "use strict";

  function syncSelectAll() {
    const all = document.querySelector("[data-select-all]");
    if (!all) return;
    const boxes = Array.from(document.querySelectorAll("[data-select]"));
    const checked = boxes.filter((b) => b.checked).length;
    all.checked = boxes.length > 0 && checked === boxes.length;
    all.indeterminate = checked > 0 && checked < boxes.length;
  }

  document.addEventListener("change", (event) => {
    const target = event.target;
    if (target.matches("[data-select-all]")) {
      document.querySelectorAll("[data-select]").forEach((box) => { box.checked = target.checked; });
    } else if (target.matches("[data-select]")) {
      syncSelectAll();
    }
  });
  // The x shortcut toggles a box without a change event.
  document.addEventListener("keyup", (event) => { if (event.key === "x") syncSelectAll(); });

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;  // comment text is never parsed as HTML
    return node;
  }

  function startLive(box) {
    const seen = new Set();
    const newList = box.querySelector("[data-new-items]");
    const notice = box.querySelector("[data-live-notice]");
    let after = box.dataset.after;
    let delay = 5000;

    function watched() {
      return Array.from(document.querySelectorAll("[data-items] [data-item]")).map((item) => item.dataset.id);
    }

    function showReviewing(item, who) {
      let badge = item.querySelector("[data-reviewing]");
      if (!who) { if (badge) badge.remove(); return; }
      if (!badge) {
        badge = el("span", "badge reviewing");
        badge.dataset.reviewing = "";
        item.querySelector(".item-head").appendChild(badge);
      }
      badge.textContent = who + " is reviewing";
    }

    function showDecided(item, state) {
      if (state.queue || item.classList.contains("gone")) return;
      item.classList.add("gone");
      const head = item.querySelector(".item-head");
      const who = state.decided_by ? " by " + state.decided_by : "";
      head.appendChild(el("span", "badge decided", state.status + who));
    }

    function addNew(comment) {
      if (seen.has(comment.id)) return;
      seen.add(comment.id);
      const li = el("li", "item new");
      li.dataset.newId = comment.id;
      const head = el("div", "item-head");
      const link = el("a", "item-link", "#" + comment.id);
      link.href = comment.url;
      head.append(link, el("span", "status " + comment.status, comment.status), el("span", "badge", "new"));
      head.appendChild(el("span", "muted", "by " + comment.author + (comment.article ? " on “" + comment.article + "”" : "")));
      const text = el("div", "text", comment.excerpt);
      text.dir = "auto";
      li.append(head, text);
      newList.prepend(li);
    }

    function updateCounts(counts) {
      document.querySelectorAll(".tabs a").forEach((tab) => {
        const name = tab.pathname.split("/").pop();
        const count = tab.querySelector(".count");
        if (count && name in counts) count.textContent = counts[name];
      });
    }

    async function poll() {
      const url = new URL(box.dataset.url, location.href);
      url.searchParams.set("after", after);
      url.searchParams.set("ids", watched().join(","));
      try {
        const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
        if (!response.ok) throw new Error(String(response.status));
        const data = await response.json();
        updateCounts(data.counts);
        document.querySelectorAll("[data-items] [data-item]").forEach((item) => {
          const state = data.items[item.dataset.id];
          if (!state) return;
          showReviewing(item, state.reviewing);
          showDecided(item, state);
        });
        data.new.slice().reverse().forEach(addNew);
        if (seen.size) {
          notice.hidden = false;
          notice.textContent = seen.size + " new since you opened this page";
        }
        delay = (data.poll_seconds || 5) * 1000;
        box.dataset.polled = String(Number(box.dataset.polled || 0) + 1);
      } catch (error) {
        delay = Math.min(delay * 2, 60000);  // back off while the server is unreachable
      }
      setTimeout(poll, delay);
    }
    setTimeout(poll, Number(box.dataset.firstPoll || 0) || 1000);
  }

  document.addEventListener("DOMContentLoaded", () => {
    syncSelectAll();
    const box = document.querySelector("[data-live]");
    if (box) startLive(box);
  });
})();
