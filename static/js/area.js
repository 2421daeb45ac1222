/* "Am I in the area?" (issue 17): checks a location the reader types, or their browser's
   location if they ask for it, against the incident's mapped area (#incident-area's
   data-area: polygons of [lat, lon] points and circles {lat, lon, radius_km}). Everything
   happens here, in the browser: the location is never sent anywhere.

   Without this file the page still shows the area's description and outline; the form stays
   hidden. The section may be replaced by a pushed frame, so events are delegated from the
   document and every new form is shown again after a swap. */
(function () {
  "use strict";

  var EARTH_RADIUS_KM = 6371.0088;

  // Ray casting: a point is inside when a ray from it crosses the ring an odd number of times.
  function inPolygon(lat, lon, ring) {
    var inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var latI = ring[i][0], lonI = ring[i][1], latJ = ring[j][0], lonJ = ring[j][1];
      if ((latI > lat) !== (latJ > lat) && lon < ((lonJ - lonI) * (lat - latI)) / (latJ - latI) + lonI) {
        inside = !inside;
      }
    }
    return inside;
  }

  function radians(degrees) {
    return (degrees * Math.PI) / 180;
  }

  function inCircle(lat, lon, circle) {
    var dLat = radians(circle.lat - lat);
    var dLon = radians(circle.lon - lon);
    var a = Math.sin(dLat / 2) * Math.sin(dLat / 2) +
      Math.cos(radians(lat)) * Math.cos(radians(circle.lat)) * Math.sin(dLon / 2) * Math.sin(dLon / 2);
    var distance = 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(a)));
    return distance <= circle.radius_km;
  }

  function inArea(lat, lon, area) {
    var polygons = area.polygons || [];
    var circles = area.circles || [];
    for (var p = 0; p < polygons.length; p++) {
      if (inPolygon(lat, lon, polygons[p])) {
        return true;
      }
    }
    for (var c = 0; c < circles.length; c++) {
      if (inCircle(lat, lon, circles[c])) {
        return true;
      }
    }
    return false;
  }

  function areaOf(form) {
    var section = form.closest("[data-area]");
    try {
      return section ? JSON.parse(section.getAttribute("data-area")) : null;
    } catch (error) {
      return null;
    }
  }

  // The sentences come from the page, in its language (data-inside, data-outside, ...).
  function say(form, kind, inside) {
    var result = form.querySelector("[data-area-result]");
    if (!result) {
      return;
    }
    if (inside === undefined) {
      result.removeAttribute("data-inside");
    } else {
      result.setAttribute("data-inside", inside ? "true" : "false");
    }
    result.textContent = form.getAttribute("data-" + kind) || kind;
  }

  function check(form, lat, lon) {
    var area = areaOf(form);
    if (!area || !isFinite(lat) || !isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) {
      say(form, "invalid");
      return;
    }
    var inside = inArea(lat, lon, area);
    say(form, inside ? "inside" : "outside", inside);
  }

  // "38.91, -77.02", "38.91 -77.02" or "38.91,-77.02".
  function parse(text) {
    var parts = text.trim().split(/[\s,;]+/);
    if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
      return null;
    }
    return [Number(parts[0]), Number(parts[1])];
  }

  function enhance() {
    var forms = document.querySelectorAll("form[data-area-check]");
    for (var i = 0; i < forms.length; i++) {
      forms[i].hidden = false;
      if (!("geolocation" in navigator)) {
        var locate = forms[i].querySelector("[data-area-locate]");
        if (locate) {
          locate.hidden = true;
        }
      }
    }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-area-check")) {
      return;
    }
    event.preventDefault(); // nothing is sent: the check happens here
    var point = parse(form.elements.location.value);
    if (!point) {
      say(form, "invalid");
      return;
    }
    check(form, point[0], point[1]);
  });

  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-area-locate]") : null;
    var form = button ? button.closest("form[data-area-check]") : null;
    if (!form || !("geolocation" in navigator)) {
      return;
    }
    // Asked only when the reader presses the button (the browser asks their permission too).
    navigator.geolocation.getCurrentPosition(
      function (position) {
        var lat = position.coords.latitude, lon = position.coords.longitude;
        form.elements.location.value = lat.toFixed(5) + ", " + lon.toFixed(5);
        check(form, lat, lon);
      },
      function () {
        say(form, "unavailable");
      },
      { enableHighAccuracy: false, timeout: 15000, maximumAge: 0 }
    );
  });

  document.addEventListener("htmx:oobAfterSwap", enhance);
  document.addEventListener("htmx:afterSettle", enhance);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", enhance);
  } else {
    enhance();
  }
})();
