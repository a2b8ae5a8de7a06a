// QC station: new pages appear while the scanner runs. Polls the item's page grid and
// replaces it only when it changed (the server answers 204 otherwise); checked boxes stay
// checked. Polling requests do not keep the session alive (idle logout still applies).
(function () {
  var live = document.querySelector("[data-poll]");
  if (!live) return;
  var every = parseInt(live.dataset.pollSeconds || "3", 10) * 1000;
  function version() { var g = live.querySelector("[data-version]"); return g ? g.dataset.version : ""; }
  function poll() {
    fetch(live.dataset.poll + "?v=" + encodeURIComponent(version()), { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.status === 200 ? r.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var picked = Array.prototype.map.call(live.querySelectorAll("input[name=page_id]:checked"), function (i) { return i.value; });
        live.innerHTML = html;
        picked.forEach(function (v) { var box = live.querySelector('input[name=page_id][value="' + v + '"]'); if (box) box.checked = true; });
        var scanned = document.getElementById("scanned");
        if (scanned) scanned.textContent = live.querySelectorAll("[data-page]").length;
        var grid = live.querySelector("[data-state]"), badge = document.getElementById("item-state");
        if (grid && badge) { badge.textContent = grid.dataset.stateName; badge.className = "badge state-" + grid.dataset.state; }
      })
      .catch(function () {})
      .then(function () { setTimeout(poll, every); });
  }
  setTimeout(poll, every);
})();
