/* Keeps a live page current over its websocket (htmx ws extension). The page is complete
   and readable without this file; it only adds what happened since the page was made.

   The server pushes frames whose first element is #live-cursor with the frame's event id.
   On every (re)connection we send the last id we have shown, {"last_event_id": N}, and the
   server replays exactly what we missed; a frame we have already shown is dropped here. */
(function () {
  "use strict";

  var root = document.querySelector("[data-ws-connect]");
  if (!root) {
    return;
  }
  var FRAME = /^\s*<span id="live-cursor" data-event-id="(\d+)"( data-reset)?/;
  var RECONNECTING = [1006, 1011, 1012, 1013];
  var state = document.getElementById("live-state");
  var cursor = initialCursor();

  function initialCursor() {
    var element = document.getElementById("live-cursor");
    var value = element ? Number(element.getAttribute("data-event-id")) : 0;
    return Number.isSafeInteger(value) && value >= 0 ? value : 0;
  }

  // The sentences come from the page, in its language (data-open, data-reconnecting, data-closed).
  function show(kind, text) {
    if (!state) {
      return;
    }
    state.hidden = false;
    state.setAttribute("data-state", kind);
    state.textContent = state.getAttribute("data-" + kind) || text;
  }

  root.addEventListener("htmx:wsOpen", function (event) {
    event.detail.socketWrapper.sendImmediately(JSON.stringify({ last_event_id: cursor }));
    show("open", "Live: new updates appear here as they are published.");
  });

  root.addEventListener("htmx:wsBeforeMessage", function (event) {
    var match = FRAME.exec(event.detail.message);
    if (!match) {
      event.preventDefault();
      return;
    }
    var id = Number(match[1]);
    if (!match[2] && id <= cursor) {
      event.preventDefault(); // already on the page
      return;
    }
    cursor = id;
  });

  root.addEventListener("htmx:wsClose", function (event) {
    if (RECONNECTING.indexOf(event.detail.event.code) >= 0) {
      show("reconnecting", "Reconnecting… updates will catch up by themselves.");
    } else {
      show("closed", "Live updates stopped. Reload the page to see new updates.");
    }
  });
})();
