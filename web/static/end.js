// The end page without this file shows the link to Prolific. With it, the
// browser goes there by itself after a countdown (Prolific's usual flow),
// which the participant can stop to read the page at leisure.
(function () {
  "use strict";
  // The completion code's copy button needs the script: shown only with it.
  var copy = document.getElementById("copy");
  var code = document.getElementById("code");
  var copied = document.getElementById("copied");
  if (copy && code) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      var text = code.textContent;
      var done = function () { copied.textContent = "Copied"; };
      var select = function () {
        var range = document.createRange();
        range.selectNodeContents(code);
        var sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        copied.textContent = "Selected: press Ctrl+C (or Cmd+C) to copy";
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(done, select);
      } else {
        select();
      }
    });
  }
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
