/* Keeps a live page current over its websocket (htmx ws extension). The page is complete
   and readable without this file; it only adds what happened since the page was made.

   The server pushes frames whose first element is #live-cursor with the frame's event id.
   On every (re)connection we send the last id we have shown, {"last_event_id": N}, and the
   server replays exactly what we missed; a frame we have already shown is dropped here.

   A connection can die without the browser noticing (a phone's carrier forgets it): the
   server sends a keepalive frame every data-keepalive-seconds, and a page that hears
   nothing for two of them, two seconds and a random part of a third says so and connects
   again. */
(function () {
  "use strict";

  // A link to an update this page no longer shows (it lists the newest PUBLIC_TIMELINE_LIMIT:
  // an alert's or a post's link, opened long after) leads to it in the incident's history.
  var linked = /^#update-\d+$/.test(location.hash) && !document.getElementById(location.hash.slice(1));
  if (linked && /^\/incidents\/[a-z0-9-]+$/.test(location.pathname)) {
    location.replace(location.pathname + "/history" + location.search + location.hash);
    return;
  }

  var root = document.querySelector("[data-ws-connect]");
  if (!root) {
    return;
  }
  var FRAME = /^\s*<span id="live-cursor" data-event-id="(\d+)"( data-reset)?/;
  var RECONNECTING = [1006, 1011, 1012, 1013];
  var ANNOUNCEMENTS_KEPT = 5;
  var keepalive = Number(root.getAttribute("data-keepalive-seconds")) || 20;
  // Every page of a process last heard it at the same moment: each waits a little longer of
  // its own, so that one gone silent is not left by all its pages in the same second.
  var silenceLimit = (2 * keepalive + 2 + Math.random() * keepalive) * 1000;
  var state = document.getElementById("live-state");
  var announcer = document.getElementById("live-announcer");
  var cursor = initialCursor();
  var socket = null; // the open WebSocket, as its wsOpen event names it
  var wrapper = null; // the extension's wrapper around it (its reconnect)
  var heard = 0; // when the open socket last said anything
  var interrupted = false; // the page said it was reconnecting, and has not said it is live since
  var focused = null; // where the focus was when the frame being shown arrived

  // Full jitter: anywhere from nothing to 2^n s, at most 30 s (the extension's own waits up to
  // 64 s, long after the network is back), so that the pages a restarted server had are
  // spread over the whole wait.
  htmx.config.wsReconnectDelay = function (retries) {
    return Math.random() * Math.min(1000 * Math.pow(2, retries), 30000);
  };

  function initialCursor() {
    var element = document.getElementById("live-cursor");
    var value = element ? Number(element.getAttribute("data-event-id")) : 0;
    return Number.isSafeInteger(value) && value >= 0 ? value : 0;
  }

  // The sentences come from the page, in its language (data-connecting, data-open,
  // data-reconnecting, data-closed). Screen readers hear when the page stops being live, and
  // when it is live again; not the connecting and live of every page load.
  function show(kind, text) {
    if (!state) {
      return;
    }
    var sentence = state.getAttribute("data-" + kind) || text;
    var stopped = kind === "reconnecting" || kind === "closed";
    var news = stopped ? state.getAttribute("data-state") !== kind : kind === "open" && interrupted;
    interrupted = stopped;
    state.setAttribute("data-state", kind);
    state.textContent = sentence;
    if (news && announcer) {
      var line = document.createElement("p");
      line.textContent = sentence;
      announcer.appendChild(line);
    }
  }

  function checkSilence() {
    if (socket === null || wrapper === null || Date.now() - heard < silenceLimit) {
      return;
    }
    // Its close, whenever the browser sees it, must not start the extension's own retry: that
    // would close the socket made here.
    socket.onclose = null;
    socket = null;
    show("reconnecting", "Reconnecting… updates will catch up by themselves.");
    wrapper.reconnect();
  }

  show("connecting", "Connecting to live updates…");

  root.addEventListener("htmx:wsOpen", function (event) {
    socket = event.detail.event.target;
    wrapper = event.detail.socketWrapper;
    heard = Date.now();
    event.detail.socketWrapper.sendImmediately(JSON.stringify({ last_event_id: cursor }));
    show("open", "Live: new updates appear here as they are published.");
  });

  root.addEventListener("htmx:wsBeforeMessage", function (event) {
    heard = Date.now();
    var match = FRAME.exec(event.detail.message);
    if (!match) {
      event.preventDefault(); // a keepalive, or nothing we know
      return;
    }
    var id = Number(match[1]);
    if (!match[2] && id <= cursor) {
      event.preventDefault(); // already on the page
      return;
    }
    cursor = id;
    focused = focusPlace();
  });

  // A frame replaces a whole update (or section) in place: a keyboard or screen reader user
  // whose focus was in it stays there, on the same link or control of the new one.
  function focusPlace() {
    var active = document.activeElement;
    var holder = active && active !== document.body ? active.closest("[id]") : null;
    if (!holder) {
      return null;
    }
    return { element: active, holder: holder.id, tag: active.tagName, href: active.getAttribute("href") };
  }

  function restoreFocus(place) {
    if (!place || document.contains(place.element)) {
      return;
    }
    var holder = document.getElementById(place.holder);
    if (!holder) {
      return;
    }
    var same = place.href
      ? holder.querySelector(place.tag + '[href="' + CSS.escape(place.href) + '"]')
      : null;
    var target = same || (holder.matches("a, button, summary, [tabindex]") ? holder : holder.querySelector("a, button, summary, [tabindex]"));
    if (target) {
      target.focus({ preventScroll: true });
    }
  }

  // Each frame adds its sentence to the live region (a replay adds several at once, and a
  // screen reader reads each); only the last few are kept.
  root.addEventListener("htmx:wsAfterMessage", function () {
    restoreFocus(focused);
    focused = null;
    while (announcer && announcer.children.length > ANNOUNCEMENTS_KEPT) {
      announcer.removeChild(announcer.firstElementChild);
    }
  });

  root.addEventListener("htmx:wsClose", function (event) {
    socket = null;
    if (RECONNECTING.indexOf(event.detail.event.code) >= 0) {
      show("reconnecting", "Reconnecting… updates will catch up by themselves.");
    } else {
      show("closed", "Live updates stopped. Reload the page to see new updates.");
    }
  });

  setInterval(checkSilence, 1000);
  // A phone waking up, or a tab coming back: look at once rather than at the next tick.
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      checkSilence();
    }
  });
})();
