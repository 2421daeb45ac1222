/* Keeps a live page current over its websocket (htmx ws extension). The page is complete
   and readable without this file; it only adds what happened since the page was made.

   The server pushes frames whose first element is #live-cursor with the frame's event id.
   On every (re)connection we send the last id we have shown, {"last_event_id": N}, and the
   server replays exactly what we missed; a frame we have already shown is dropped here.

   A connection can die without the browser noticing (a phone's carrier forgets it): the
   server sends a keepalive frame every data-keepalive-seconds, and a page that hears
   nothing for two of them and two seconds more says so and connects again. */
(function () {
  "use strict";

  var root = document.querySelector("[data-ws-connect]");
  if (!root) {
    return;
  }
  var FRAME = /^\s*<span id="live-cursor" data-event-id="(\d+)"( data-reset)?/;
  var RECONNECTING = [1006, 1011, 1012, 1013];
  var ANNOUNCEMENTS_KEPT = 5;
  var keepalive = Number(root.getAttribute("data-keepalive-seconds")) || 20;
  var silenceLimit = (2 * keepalive + 2) * 1000;
  var state = document.getElementById("live-state");
  var announcer = document.getElementById("live-announcer");
  var cursor = initialCursor();
  var socket = null; // the open WebSocket, as its wsOpen event names it
  var abandoned = null; // one given up on for its silence: its close, whenever it comes, is not news
  var wrapper = null; // the extension's wrapper around it (its reconnect)
  var connecting = false; // a new socket is on its way: a close meanwhile is not the end
  var heard = 0; // when the open socket last said anything
  var focused = null; // where the focus was when the frame being shown arrived

  // At most 10 s between attempts (the extension's default waits up to 64 s), jittered so
  // that a restarted server is not met by every page at once.
  htmx.config.wsReconnectDelay = function (retries) {
    return Math.min(1000 * Math.pow(2, retries), 10000) * (0.5 + Math.random() / 2);
  };

  function initialCursor() {
    var element = document.getElementById("live-cursor");
    var value = element ? Number(element.getAttribute("data-event-id")) : 0;
    return Number.isSafeInteger(value) && value >= 0 ? value : 0;
  }

  // The sentences come from the page, in its language (data-connecting, data-open,
  // data-reconnecting, data-closed).
  function show(kind, text) {
    if (!state) {
      return;
    }
    state.setAttribute("data-state", kind);
    state.textContent = state.getAttribute("data-" + kind) || text;
  }

  function checkSilence() {
    if (socket === null || wrapper === null || Date.now() - heard < silenceLimit) {
      return;
    }
    abandoned = socket;
    socket = null;
    show("reconnecting", "Reconnecting… updates will catch up by themselves.");
    wrapper.reconnect();
  }

  root.addEventListener("htmx:wsConnecting", function () {
    connecting = true;
  });
  show("connecting", "Connecting to live updates…");

  root.addEventListener("htmx:wsOpen", function (event) {
    socket = event.detail.event.target;
    wrapper = event.detail.socketWrapper;
    connecting = false;
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
    if (event.detail.event.target === abandoned) {
      return;
    }
    socket = null;
    if (RECONNECTING.indexOf(event.detail.event.code) >= 0) {
      show("reconnecting", "Reconnecting… updates will catch up by themselves.");
    } else if (!connecting) {
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
