// optadvisor HTML report: sorting, filtering and expanding the recommendations table.
// Inlined into the page and allowed by its CSP hash; reads the rows' data from the
// <script type="application/json"> block and never writes HTML from strings.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("optadvisor-data").textContent);
  var recs = data.recommendations;
  var body = document.getElementById("rec-body");
  var empty = document.getElementById("no-match");
  var count = document.getElementById("shown-count");
  var search = document.getElementById("q");
  var selects = {
    priority: document.getElementById("f-priority"),
    kind: document.getElementById("f-kind"),
    component: document.getElementById("f-component")
  };
  var rows = Array.prototype.slice.call(body.querySelectorAll("tr.rec")).map(function (tr) {
    var rec = recs[Number(tr.getAttribute("data-rank")) - 1];
    return {
      tr: tr,
      detail: document.getElementById("detail-" + rec.rank),
      toggle: tr.querySelector("button.toggle"),
      rec: rec,
      text: [rec.path + ":" + rec.line, rec.symbol, rec.message, rec.rule, rec.kind,
             rec.component, rec.title].join("\n").toLowerCase()
    };
  });
  var state = { sort: "rank", dir: 1 };

  function compare(a, b) {
    var x = a.rec, y = b.rec, d;
    switch (state.sort) {
      case "priority": d = x.priorityRank - y.priorityRank || y.score - x.score; break;
      case "score": d = x.score - y.score; break;
      case "location": d = cmp(x.path, y.path) || x.line - y.line; break;
      case "kind": d = cmp(x.kind, y.kind) || cmp(x.rule, y.rule); break;
      case "component": d = cmp(x.component, y.component); break;
      default: d = x.rank - y.rank;
    }
    // Ties keep the report's ranking, whichever way the column is sorted.
    return d ? d * state.dir : x.rank - y.rank;
  }

  function cmp(a, b) { return a < b ? -1 : a > b ? 1 : 0; }

  function matches(row) {
    var q = search.value.trim().toLowerCase();
    if (q) {
      var words = q.split(/\s+/);
      for (var i = 0; i < words.length; i++) {
        if (row.text.indexOf(words[i]) < 0) return false;
      }
    }
    for (var key in selects) {
      var want = selects[key].value;
      if (want && row.rec[key] !== want) return false;
    }
    return true;
  }

  function refresh() {
    var sorted = rows.slice().sort(compare);
    var shown = 0;
    sorted.forEach(function (row) {
      body.insertBefore(row.tr, empty);
      body.insertBefore(row.detail, empty);
      var visible = matches(row);
      row.tr.hidden = !visible;
      row.detail.hidden = !visible || row.toggle.getAttribute("aria-expanded") !== "true";
      if (visible) shown += 1;
    });
    empty.hidden = shown > 0;
    count.textContent = shown + " of " + rows.length;
  }

  function setOpen(row, open) {
    row.toggle.setAttribute("aria-expanded", open ? "true" : "false");
    row.tr.classList.toggle("open", open);
    row.detail.hidden = !open || row.tr.hidden;
  }

  rows.forEach(function (row) {
    row.tr.addEventListener("click", function (event) {
      if (event.target.closest("a, input, select")) return;
      setOpen(row, row.toggle.getAttribute("aria-expanded") !== "true");
    });
  });

  document.querySelectorAll("thead th button[data-sort]").forEach(function (button) {
    button.addEventListener("click", function () {
      var key = button.getAttribute("data-sort");
      if (state.sort === key) {
        state.dir = -state.dir;
      } else {
        state.sort = key;
        // Numbers read best high-first; names and ranks A-Z / 1-n.
        state.dir = key === "score" ? -1 : 1;
      }
      document.querySelectorAll("thead th").forEach(function (th) { th.removeAttribute("aria-sort"); });
      button.parentNode.setAttribute("aria-sort", state.dir > 0 ? "ascending" : "descending");
      refresh();
    });
  });

  search.addEventListener("input", refresh);
  Object.keys(selects).forEach(function (key) { selects[key].addEventListener("change", refresh); });

  document.getElementById("reset").addEventListener("click", function () {
    search.value = "";
    Object.keys(selects).forEach(function (key) { selects[key].value = ""; });
    refresh();
  });
  document.getElementById("expand-all").addEventListener("click", function () {
    rows.forEach(function (row) { if (!row.tr.hidden) setOpen(row, true); });
  });
  document.getElementById("collapse-all").addEventListener("click", function () {
    rows.forEach(function (row) { setOpen(row, false); });
  });

  // The breakdown bars filter the table by their priority, kind or component.
  document.querySelectorAll("button.bar[data-filter]").forEach(function (bar) {
    bar.addEventListener("click", function () {
      var select = selects[bar.getAttribute("data-filter")];
      var value = bar.getAttribute("data-value");
      select.value = select.value === value ? "" : value;
      refresh();
      document.getElementById("recommendations").scrollIntoView({ behavior: "smooth", block: "start" });
    });
  });

  // A link to #rec-N opens that recommendation.
  var target = /^#rec-(\d+)$/.exec(window.location.hash);
  if (target && rows[Number(target[1]) - 1]) setOpen(rows[Number(target[1]) - 1], true);

  refresh();
})();
