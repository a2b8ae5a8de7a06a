// Progressive enhancement only: every page works without this file.
// 1) signature pads: draw with a finger; the drawing goes into a hidden field on submit
// 2) idle logout on form pages: reload after the idle time, reset by any touch or key
(function () {
  document.documentElement.classList.add("js");
  document.querySelectorAll("[data-signature]").forEach(function (pad) {
    var canvas = pad.querySelector("canvas"), field = document.getElementById(pad.dataset.signature);
    var ctx = canvas.getContext("2d"), drawing = false, inked = false;
    function size() { var r = canvas.getBoundingClientRect(); canvas.width = r.width; canvas.height = r.height;
      ctx.lineWidth = 4; ctx.lineCap = "round"; ctx.strokeStyle = "#000"; }
    function at(e) { var r = canvas.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; }
    size();
    canvas.addEventListener("pointerdown", function (e) { drawing = true; canvas.setPointerCapture(e.pointerId);
      var p = at(e); ctx.beginPath(); ctx.moveTo(p[0], p[1]); });
    canvas.addEventListener("pointermove", function (e) { if (!drawing) return; var p = at(e);
      ctx.lineTo(p[0], p[1]); ctx.stroke(); inked = true; });
    canvas.addEventListener("pointerup", function () { drawing = false; if (inked) field.value = canvas.toDataURL("image/png"); });
    pad.querySelector("button[data-clear]").addEventListener("click", function () {
      ctx.clearRect(0, 0, canvas.width, canvas.height); inked = false; field.value = ""; });
  });
  var idle = parseInt(document.body.dataset.idleSeconds || "0", 10);
  if (idle > 0 && document.querySelector("form[data-keep-open]")) {
    var timer;
    var reset = function () { clearTimeout(timer); timer = setTimeout(function () { location.reload(); }, (idle + 5) * 1000); };
    ["pointerdown", "keydown", "input"].forEach(function (t) { document.addEventListener(t, reset, true); });
    reset();
  }
})();
