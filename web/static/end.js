// The end page without this file shows the link to Prolific. With it, the
// browser goes there by itself after a countdown (Prolific's usual flow),
// which the participant can stop to read the page at leisure.
(function () {
  "use strict";
  var link = document.getElementById("complete");
  var box = document.getElementById("countdown");
  if (!link || !box) { return; }
  var left = parseInt(link.getAttribute("data-redirect-seconds"), 10);
  if (!(left > 0)) { return; }
  var shown = document.getElementById("seconds");
  box.hidden = false;
  var timer = setInterval(function () {
    left -= 1;
    if (left <= 0) {
      clearInterval(timer);
      window.location.assign(link.href);
      return;
    }
    shown.textContent = String(left);
  }, 1000);
  document.getElementById("stay").addEventListener("click", function () {
    clearInterval(timer);
    box.hidden = true;
  });
})();
