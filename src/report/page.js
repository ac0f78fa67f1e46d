// idm-report: sorting and filtering for every table.data, without a framework.
// Numbers sort by their data-n value; everything else as text. The page is complete without
// this script (every figure is in the HTML); it only adds controls.
(function () {
  "use strict";

  function key(cell) {
    var n = cell.getAttribute("data-n");
    if (n !== null && n !== "") {
      return { num: true, v: parseFloat(n) };
    }
    return { num: false, v: cell.textContent.trim().toLowerCase() };
  }

  function compare(a, b) {
    if (a.num && b.num) { return a.v - b.v; }
    if (a.num !== b.num) { return a.num ? -1 : 1; }
    return a.v < b.v ? -1 : (a.v > b.v ? 1 : 0);
  }

  function sortBy(table, col, th) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var descending = th.getAttribute("aria-sort") === "ascending";
    rows.sort(function (r1, r2) {
      var c = compare(key(r1.cells[col]), key(r2.cells[col]));
      return descending ? -c : c;
    });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) {
      h.setAttribute("aria-sort", "none");
    });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    rows.forEach(function (r) { body.appendChild(r); });
  }

  function shownText(shown, total) {
    return shown === total ? total + " rows" : shown + " of " + total + " rows";
  }

  function addFilter(table) {
    var rows = table.tBodies[0].rows;
    var bar = document.createElement("div");
    bar.className = "filter";
    var input = document.createElement("input");
    input.type = "search";
    input.placeholder = "Filter rows";
    input.setAttribute("aria-label", "Filter the rows of this table");
    var count = document.createElement("span");
    count.className = "shown";
    count.textContent = shownText(rows.length, rows.length);
    bar.appendChild(input);
    bar.appendChild(count);
    var wrap = table.parentNode;
    wrap.parentNode.insertBefore(bar, wrap);
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      Array.prototype.forEach.call(rows, function (r) {
        var t = r.textContent.toLowerCase();
        var ok = words.every(function (w) { return t.indexOf(w) !== -1; });
        r.hidden = !ok;
        if (ok) { shown += 1; }
      });
      count.textContent = shownText(shown, rows.length);
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.data"), function (table) {
    if (!table.tHead || !table.tBodies.length) { return; }
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = th.textContent;
      button.title = "Sort by " + th.textContent;
      th.textContent = "";
      th.appendChild(button);
      th.setAttribute("aria-sort", "none");
      button.addEventListener("click", function () { sortBy(table, col, th); });
    });
    if (table.tBodies[0].rows.length > 8) { addFilter(table); }
  });
  document.documentElement.setAttribute("data-ready", "true");
}());
