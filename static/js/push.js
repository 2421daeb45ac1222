/* "This browser" on /subscribe: alerts by Web Push. Without JavaScript, or in a browser
   without service workers and push, the button stays hidden and the email form is all there
   is. The button registers /sw.js, subscribes with the key from /push/key (the browser asks
   for permission: that is the opt-in) and sends the subscription to /push/subscriptions. */
(function () {
  "use strict";

  var section = document.getElementById("push-subscribe");
  if (!section || !("serviceWorker" in navigator) || !("PushManager" in window) || !window.fetch) {
    return;
  }
  var button = section.querySelector("button");
  var status = section.querySelector("[data-push-status]");

  function say(key) {
    status.textContent = section.getAttribute("data-" + key) || "";
    status.hidden = false;
  }

  function chosen(name, fallback) {
    var checked = document.querySelector('[name="' + name + '"]:checked');
    if (checked) {
      return checked.value;
    }
    var field = document.querySelector('select[name="' + name + '"]');
    return field ? field.value : fallback;
  }

  // The server's key is base64url; PushManager wants its bytes.
  function keyBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes;
  }

  function subscribe() {
    button.disabled = true;
    var registration;
    navigator.serviceWorker
      .register("/sw.js", { scope: "/" })
      .then(function (found) {
        registration = found;
        return navigator.serviceWorker.ready;
      })
      .then(function () {
        return fetch("/push/key", { credentials: "same-origin" });
      })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("no key");
        }
        return response.json();
      })
      .then(function (key) {
        return registration.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: keyBytes(key.applicationServerKey),
        });
      })
      .then(function (subscription) {
        var body = subscription.toJSON();
        body.incident = chosen("incident", "");
        body.lang = chosen("lang", document.documentElement.lang);
        // Only alerts for this location (issue 17), when one is given in the form.
        ["area_point", "area_zip"].forEach(function (name) {
          var field = document.querySelector('[name="' + name + '"]');
          if (field && field.value.trim()) {
            body[name] = field.value.trim();
          }
        });
        return fetch("/push/subscriptions", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(body),
        });
      })
      .then(function (response) {
        if (response.status === 422) {
          return response.json().then(function (answer) {
            var fields = (answer.error && answer.error.fields) || {};
            throw new Error("area_point" in fields || "area_zip" in fields ? "location" : "refused");
          });
        }
        if (!response.ok) {
          throw new Error("refused");
        }
        say("done");
      })
      .catch(function (error) {
        if (error && error.message === "location") {
          say("location");
        } else {
          say(window.Notification && Notification.permission === "denied" ? "denied" : "failed");
        }
        button.disabled = false;
      });
  }

  // Shown only when the key is there: without VAPID_PRIVATE_KEY push is in preview.
  fetch("/push/key", { credentials: "same-origin" }).then(function (response) {
    if (response.ok) {
      section.hidden = false;
      button.addEventListener("click", subscribe);
    }
  });
})();
