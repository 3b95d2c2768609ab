// Experimenter pages: refresh the participant monitor without a reload, and
// start the download of a bonus batch just created. Loaded as a file, since
// the Content-Security-Policy forbids inline scripts.
(function () {
  "use strict";

  var POLL_MS = 4000;

  // poll replaces the monitor's contents with a fresh fragment every few
  // seconds, unless the experimenter is typing in it (a rejection reason) or
  // has a reject form open, which a refresh would wipe.
  function poll(el) {
    var busy = false;
    var ms = parseInt(el.getAttribute("data-poll-ms"), 10) || POLL_MS;
    setInterval(function () {
      if (busy || document.hidden) return;
      if (el.contains(document.activeElement) && document.activeElement.tagName === "INPUT") return;
      if (el.querySelector("details[open]")) return;
      busy = true;
      fetch(el.getAttribute("data-poll"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) {
          if (r.status === 401 || r.redirected) { window.location.reload(); return null; }
          return r.ok ? r.text() : null;
        })
        .then(function (html) { if (html !== null && html !== undefined) el.innerHTML = html; })
        .catch(function () { /* a failed poll is retried at the next tick */ })
        .then(function () { busy = false; });
    }, ms);
  }

  // followTask keeps the study form's set list to the sets with items of
  // the chosen task: the others are hidden, and a chosen set of another task
  // gives way to the first that fits.
  function followTask(domain, set) {
    if (!domain || !set || domain.disabled) return;
    function apply() {
      var first = null, keep = false;
      Array.prototype.forEach.call(set.options, function (o) {
        var fits = (" " + (o.getAttribute("data-domains") || "") + " ").indexOf(" " + domain.value + " ") >= 0;
        o.hidden = !fits;
        o.disabled = !fits;
        if (fits && !first) first = o;
        if (fits && o.selected) keep = true;
      });
      if (!keep && first) first.selected = true;
    }
    domain.addEventListener("change", apply);
    apply();
  }

  document.addEventListener("DOMContentLoaded", function () {
    // The participant monitor and the live comparison poll apart.
    Array.prototype.forEach.call(document.querySelectorAll("[data-poll]"), poll);
    var d = document.querySelector("[data-download]");
    if (d) window.location.assign(d.getAttribute("data-download"));
    followTask(document.getElementById("domain"), document.getElementById("set"));
    // A Reject panel's Cancel closes its <details> (without JavaScript the
    // summary still does).
    document.addEventListener("click", function (ev) {
      var b = ev.target.closest && ev.target.closest("[data-close-details]");
      if (b) { var d = b.closest("details"); if (d) d.open = false; }
    });
    var link = document.getElementById("study-link");
    if (link) link.addEventListener("focus", function () { link.select(); });
  });
})();
