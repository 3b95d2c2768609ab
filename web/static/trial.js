// The trial page without this file still works (plain buttons in
// <noscript>, answers stored as untimed). With it, an answer is one the
// participant saw and meant:
// - the answer buttons and keys do nothing until the picture has been
//   decoded and painted, and for the study's minimum viewing time after that;
// - the response time starts at the paint;
// - once an answer is sent, every input is ignored (the next page starts
//   gated again), so a double click or a second key press cannot answer the
//   next trial; a click that is the second of a double click (detail > 1), or
//   whose press began before the buttons came alive, is ignored;
// - key auto-repeat is ignored, and a key already down when the page came
//   (held from the previous trial) answers nothing until it is released;
// - whether the page was hidden or lost focus, and the picture's size on
//   screen, travel with the answer.
(function () {
  "use strict";
  var form = document.getElementById("answer");
  var img = document.getElementById("stimulus");
  var state = "loading"; // loading, viewing (painted), ready, sent; a break page stays "loading"
  // The time left, counted down from what the server said when it sent the
  // page (no trust in the browser's clock), in the server's words
  // (study.TimeLeftText); the warning at five minutes; the time-up page at
  // zero, which says what happened.
  function countdown() {
    var clock = document.getElementById("time-left");
    if (!clock) { return; }
    var secondsAtLoad = parseInt(clock.getAttribute("data-seconds"), 10);
    var warnAt = parseInt(clock.getAttribute("data-warn-seconds"), 10);
    var loadedAt = performance.now();
    var warning = document.getElementById("time-warning");
    var tick = function () {
      var left = secondsAtLoad - (performance.now() - loadedAt) / 1000;
      if (left <= 0) {
        clock.textContent = "No time left";
        if (state !== "sent") { window.location.assign(clock.getAttribute("data-time-up")); }
        return;
      }
      var s = Math.ceil(left);
      if (s <= warnAt) {
        clock.textContent = Math.floor(s / 60) + ":" + (s % 60 < 10 ? "0" : "") + (s % 60) + " left";
        if (warning && warning.hidden) { warning.hidden = false; }
      } else {
        var m = Math.ceil(s / 60);
        clock.textContent = m === 1 ? "1 minute left" : m + " minutes left";
      }
      setTimeout(tick, 1000 - ((performance.now() - loadedAt) % 1000));
    };
    if (secondsAtLoad >= 0) { tick(); }
  }

  countdown();

  // A break or practice feedback page comes about 100 ms after an answer:
  // the second click of a double click on the answer, or a key held down,
  // must not skip it. Its Continue ignores a click's second half and
  // anything in the first moment after the page came.
  var cont = document.getElementById("continue");
  if (cont) {
    var cameAt = performance.now();
    cont.addEventListener("click", function (e) {
      if (e.detail > 1 || performance.now() - cameAt < 400) { e.preventDefault(); }
    });
  }
  if (!form || !img) { return; }
  var buttons = document.querySelectorAll("#answers button[name=answer]");
  var keys = document.getElementById("keys");
  var wait = document.getElementById("wait");
  var minView = parseInt(form.getAttribute("data-min-view"), 10);
  if (!(minView >= 0)) { minView = 300; }

  var paintedAt = null;
  var readyAt = null;
  var pressedAt = -1;   // the last pointer press, for a click's start
  var held = {};        // keys seen down before the answers came alive
  var hidden = document.hidden === true;

  form.setAttribute("data-state", state);
  function setState(s) {
    state = s;
    form.setAttribute("data-state", s);
  }

  function ready() {
    if (state !== "viewing") { return; }
    readyAt = performance.now();
    for (var i = 0; i < buttons.length; i++) { buttons[i].disabled = false; }
    if (keys) { keys.hidden = false; }
    if (wait) { wait.hidden = true; }
    setState("ready");
  }

  // The picture is on screen at the frame after the one in which it was
  // first drawn: a requestAnimationFrame callback runs before that frame is
  // painted, and a task queued from it runs after.
  function painted() {
    if (state !== "loading") { return; }
    requestAnimationFrame(function () {
      setTimeout(function () {
        if (state !== "loading") { return; }
        paintedAt = performance.now();
        setState("viewing");
        setTimeout(ready, minView);
      }, 0);
    });
  }

  function failed() {
    if (state !== "loading") { return; }
    if (wait) {
      wait.textContent = "The picture could not be loaded. ";
      var again = document.createElement("a");
      again.href = window.location.href;
      again.textContent = "Load the page again";
      wait.appendChild(again);
      wait.hidden = false;
    }
  }

  function decoded() {
    if (img.complete && img.naturalWidth > 0) { painted(); } else { failed(); }
  }
  if (typeof img.decode === "function") {
    img.decode().then(painted, function () {
      // decode() also rejects for a picture that loads later; wait for it.
      if (img.complete) { decoded(); } else { img.addEventListener("load", decoded); img.addEventListener("error", failed); }
    });
  } else if (img.complete) {
    decoded();
  } else {
    img.addEventListener("load", decoded);
    img.addEventListener("error", failed);
  }
  // On a slow connection, say why the buttons do not answer yet.
  setTimeout(function () {
    if (state === "loading" && wait && wait.hidden) {
      wait.textContent = "Loading the picture…";
      wait.hidden = false;
    }
  }, 1000);

  function note() { hidden = true; }
  document.addEventListener("visibilitychange", function () { if (document.hidden) { note(); } });
  window.addEventListener("blur", note);

  // The picture's side on screen in CSS pixels: the image box scaled down
  // to keep the picture's shape (object-fit: contain).
  function renderedSize() {
    var w = img.clientWidth, h = img.clientHeight, nw = img.naturalWidth || 1, nh = img.naturalHeight || 1;
    var scale = Math.min(w / nw, h / nh);
    return Math.round(Math.min(nw, nh) * scale);
  }

  function field(name, value) {
    var f = document.createElement("input");
    f.type = "hidden";
    f.name = name;
    f.value = String(value);
    form.appendChild(f);
  }

  // The device (screen and window size, pixel ratio, pointer) travels with
  // the first answer sent from this tab; the server keeps it per participant.
  function device() {
    var key = "cubelab-device:" + form.getAttribute("action");
    try { if (sessionStorage.getItem(key) === "1") { return; } } catch (e) { /* storage blocked: send each time */ }
    var mq = function (q) { return window.matchMedia && window.matchMedia(q).matches; };
    field("sw", screen.width);
    field("sh", screen.height);
    field("vw", window.innerWidth);
    field("vh", window.innerHeight);
    field("dpr", window.devicePixelRatio || 1);
    field("ptr", mq("(pointer: coarse)") ? "touch" : mq("(pointer: fine)") ? "mouse" : mq("(pointer: none)") ? "none" : "");
    try { sessionStorage.setItem(key, "1"); } catch (e) { /* as above */ }
  }

  // The clicked button's value must travel with the form, so it goes in a
  // hidden field and the buttons are disabled after.
  function submit(value, button) {
    if (state !== "ready") { return; }
    setState("sent");
    form.elements.rt.value = String(Math.max(0, Math.round(performance.now() - paintedAt)));
    form.elements.timing.value = "script";
    form.elements.hidden.value = hidden ? "1" : "0";
    form.elements.px.value = String(renderedSize());
    field("answer", value);
    device();
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].disabled = true;
      if (buttons[i] === button) { buttons[i].setAttribute("aria-busy", "true"); }
    }
    form.submit();
  }

  document.addEventListener("pointerdown", function () { pressedAt = performance.now(); }, true);
  document.addEventListener("mousedown", function () { pressedAt = performance.now(); }, true);

  // A click on an answer button submits from its own handler, since
  // e.submitter is missing in older browsers (Safari before 15.4).
  for (var j = 0; j < buttons.length; j++) {
    buttons[j].addEventListener("click", function (e) {
      e.preventDefault();
      // detail is the click count: 2 is the second click of a double click.
      // 0 is a keyboard activation (Enter or Space on the focused button).
      if (e.detail > 1) { return; }
      if (e.detail === 1 && pressedAt >= 0 && readyAt !== null && pressedAt < readyAt) { return; }
      submit(this.value, this);
    });
  }
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var b = e.submitter;
    if (b && b.name === "answer") { submit(b.value, b); }
  });

  function buttonOf(value) {
    for (var i = 0; i < buttons.length; i++) {
      if (buttons[i].value === value) { return buttons[i]; }
    }
    return null;
  }
  // Y and N always mean Yes and No; the arrow keys follow the buttons'
  // sides, which differ between participants (counterbalanced).
  function answerOf(k) {
    if (k === "y" || k === "Y") { return "Yes"; }
    if (k === "n" || k === "N") { return "No"; }
    if (k === "ArrowLeft" && buttons.length === 2) { return buttons[0].value; }
    if (k === "ArrowRight" && buttons.length === 2) { return buttons[1].value; }
    return "";
  }
  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) { return; }
    var value = answerOf(e.key);
    if (!value) {
      if (e.repeat && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); }
      return;
    }
    e.preventDefault();
    if (e.repeat || held[e.key.toLowerCase()]) { return; }
    if (state !== "ready") { held[e.key.toLowerCase()] = true; return; }
    submit(value, buttonOf(value));
  });
  document.addEventListener("keyup", function (e) {
    if (e.key) { delete held[e.key.toLowerCase()]; }
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
