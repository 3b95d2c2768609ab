// The trial page without this file still works (plain POST forms). It adds:
// keyboard answers, one submission only, the browser response time, and
// preloading of the next picture.
(function () {
  "use strict";
  var form = document.getElementById("answer");
  var img = document.getElementById("stimulus");
  if (!form || !img) { return; }
  var rt = document.getElementById("rt");
  var buttons = form.querySelectorAll("button[name=answer]");
  var shownAt = null;
  var sent = false;

  function shown() {
    if (shownAt === null) { shownAt = performance.now(); }
  }
  if (img.complete && img.naturalWidth > 0) { shown(); } else { img.addEventListener("load", shown); }

  // The clicked button's value must travel with the form, so the buttons are
  // disabled only after the browser has collected the form data.
  function submit(value, button) {
    if (sent) { return; }
    sent = true;
    if (shownAt !== null) { rt.value = String(Math.max(0, Math.round(performance.now() - shownAt))); }
    var answer = document.createElement("input");
    answer.type = "hidden";
    answer.name = "answer";
    answer.value = value;
    form.appendChild(answer);
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].disabled = true;
      if (buttons[i] === button) { buttons[i].setAttribute("aria-busy", "true"); }
    }
    form.submit();
  }

  // A click on an answer button submits from its own handler, since
  // e.submitter is missing in older browsers (Safari before 15.4). The
  // submit handler only catches what a click did not start (e.g. Enter);
  // `sent` makes either path submit once.
  for (var j = 0; j < buttons.length; j++) {
    buttons[j].addEventListener("click", function (e) {
      e.preventDefault();
      submit(this.value, this);
    });
  }
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var b = e.submitter;
    if (b && b.name === "answer") { submit(b.value, b); }
  });

  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey || e.repeat) { return; }
    var k = e.key;
    if (k === "y" || k === "Y" || k === "ArrowLeft") { e.preventDefault(); submit("Yes", buttons[0]); }
    else if (k === "n" || k === "N" || k === "ArrowRight") { e.preventDefault(); submit("No", buttons[1]); }
  });

  // A page restored from the back-forward cache must not stay locked.
  window.addEventListener("pageshow", function (e) {
    if (e.persisted) { window.location.reload(); }
  });

  var next = img.getAttribute("data-next");
  if (next) {
    var pre = new Image();
    pre.src = next;
  }
})();
