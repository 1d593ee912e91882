// The audience builder's churn-risk range: two handles on one track that never cross, the
// range in words and the highlighted stretch following them as they move. The form (htmx)
// sends each move, so the figures (contacts, expected churners, value at risk) follow too.
(function () {
  "use strict";

  function parts(box) {
    return {
      low: box.querySelector("input[data-end=min]"),
      high: box.querySelector("input[data-end=max]"),
      fill: box.querySelector(".fill"),
      said: document.getElementById(box.dataset.said),
      percent: new Intl.NumberFormat(box.dataset.locale || "en-US", { style: "percent" }),
    };
  }

  function draw(box, moved) {
    var p = parts(box);
    var a = parseFloat(p.low.value), b = parseFloat(p.high.value);
    if (a > b) { // the moved handle stops at the other one
      if (moved === p.low) { p.low.value = b; a = b; } else { p.high.value = a; b = a; }
    }
    p.fill.style.left = a * 100 + "%";
    p.fill.style.right = (1 - b) * 100 + "%";
    // two handles on one spot: the one that can still move is on top
    p.low.style.zIndex = a >= b && a > 0.5 ? "2" : "";
    var low = p.percent.format(a), high = p.percent.format(b);
    p.low.setAttribute("aria-valuetext", "from " + low);
    p.high.setAttribute("aria-valuetext", "up to " + high);
    if (p.said) { p.said.textContent = low + " to " + high; }
  }

  function drawAll() {
    document.querySelectorAll(".range[data-said]").forEach(function (box) { draw(box, null); });
  }

  document.addEventListener("input", function (event) {
    var box = event.target.closest && event.target.closest(".range[data-said]");
    if (box) { draw(box, event.target); }
  }, true); // before htmx reads the form: a crossing handle is put back first
  document.addEventListener("DOMContentLoaded", drawAll);
  document.addEventListener("htmx:historyRestore", drawAll);
  if (document.readyState !== "loading") { drawAll(); }
})();
