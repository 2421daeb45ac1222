/* The service worker of Web Push alerts (console/alerts/web_push.py). Served at /sw.js so its
   scope is the whole site. Each push is the JSON the server encrypted for this browser:
   {title, body, url, labels, lang, tag}; the notification opens the update's page. */
"use strict";

self.addEventListener("push", function (event) {
  var alert = {};
  try {
    alert = event.data ? event.data.json() : {};
  } catch (error) {
    alert = { body: event.data ? event.data.text() : "" };
  }
  var title = alert.title || "Incident update";
  var shown = self.registration.showNotification(title, {
    body: alert.body || "",
    lang: alert.lang || "",
    tag: alert.tag || undefined,
    renotify: Boolean(alert.tag),
    data: { url: alert.url || "/", labels: alert.labels || [] },
  });
  // Then open pages hear of it (tests, and any page that wants to show it).
  var told = shown.then(function () {
    return self.clients.matchAll({ type: "window", includeUncontrolled: true });
  }).then(function (clients) {
    clients.forEach(function (client) {
      client.postMessage({ type: "push-alert", title: title, body: alert.body || "", url: alert.url || "/", labels: alert.labels || [] });
    });
  });
  event.waitUntil(told);
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil(self.clients.openWindow(url));
});
