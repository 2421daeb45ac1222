/* The console's drawing map (issue 17): the "Correct details" form's "Mapped area" field,
   drawn on Leaflet with Leaflet.draw (static/vendor/). The field stays the truth: what is drawn
   is written into it (GeoJSON, or the console's own JSON form when there are circles or
   geocodes, which GeoJSON has no geometry for), and what is typed in it is drawn. Without this
   file, or without tiles, the area is typed as before; the server checks it all either way.

   The map's container is [data-area-map="<the field's id>"] with the tiles' URL and credit in
   data-tiles and data-attribution. The form may be replaced by htmx (a refused change comes
   back with it), so every new container is set up on htmx:load. */
(function () {
  "use strict";

  var PRECISION = 1e6; // six decimals of a degree: about 10 cm
  var WORLD = [[-55, -150], [70, 160]];
  var UNREADABLE = "The map cannot show what is typed in the field above; drawing replaces it.";

  function round(value) {
    return Math.round(value * PRECISION) / PRECISION;
  }

  function isPoint(point) {
    return Array.isArray(point) && point.length === 2 &&
      typeof point[0] === "number" && typeof point[1] === "number" && isFinite(point[0]) && isFinite(point[1]);
  }

  // GeoJSON's outer rings as [lat, lon] points, or null for anything else.
  function geojsonRings(value) {
    var geometries;
    if (value.type === "FeatureCollection") {
      if (!Array.isArray(value.features)) {
        return null;
      }
      geometries = value.features.map(function (feature) { return feature && feature.geometry; });
    } else if (value.type === "Feature") {
      geometries = [value.geometry];
    } else {
      geometries = [value];
    }
    var rings = [];
    for (var g = 0; g < geometries.length; g++) {
      var geometry = geometries[g];
      var polygons = !geometry ? null
        : geometry.type === "Polygon" ? [geometry.coordinates]
        : geometry.type === "MultiPolygon" ? geometry.coordinates : null;
      if (!Array.isArray(polygons)) {
        return null;
      }
      for (var p = 0; p < polygons.length; p++) {
        if (!Array.isArray(polygons[p]) || !Array.isArray(polygons[p][0]) || !polygons[p][0].every(isPoint)) {
          return null;
        }
        rings.push(polygons[p][0].map(function (point) { return [point[1], point[0]]; }));
      }
    }
    return rings;
  }

  function list(value) {
    return Array.isArray(value) ? value : [];
  }

  // The field as {polygons, circles, geocodes}, read as the server reads it
  // (parse_typed_area in console/domain/area.py); null when the map cannot show it.
  function readField(text) {
    text = text.trim();
    var area = { polygons: [], circles: [], geocodes: [] };
    if (!text) {
      return area;
    }
    if (text.charAt(0) === "{") {
      var value;
      try {
        value = JSON.parse(text);
      } catch (error) {
        return null;
      }
      if (!value || typeof value !== "object" || Array.isArray(value)) {
        return null;
      }
      if ("type" in value) {
        area.polygons = geojsonRings(value);
        return area.polygons ? area : null;
      }
      area = { polygons: list(value.polygons), circles: list(value.circles), geocodes: list(value.geocodes) };
      var shapesReadable = area.polygons.every(function (ring) { return Array.isArray(ring) && ring.every(isPoint); }) &&
        area.circles.every(function (c) { return c && isPoint([c.lat, c.lon]) && typeof c.radius_km === "number"; });
      return shapesReadable ? area : null;
    }
    var lines = text.split(/\r?\n/);
    for (var l = 0; l < lines.length; l++) {
      var pairs = lines[l].trim().split(/\s+/).filter(Boolean);
      var ring = pairs.map(function (pair) { return pair.split(",").map(Number); });
      if (!ring.every(function (point) { return point.length === 2 && isPoint(point); })) {
        return null;
      }
      if (ring.length) {
        area.polygons.push(ring);
      }
    }
    return area;
  }

  function lonLat(ring) {
    return ring.map(function (point) { return [point[1], point[0]]; });
  }

  // The map's shapes as the field's text: "" for none. Tiles repeat east and west: a shape
  // drawn on another copy of the world is written where it is on this one (-180..180).
  function fieldText(map, layers, geocodes) {
    var polygons = [];
    var circles = [];
    layers.eachLayer(function (layer) {
      if (layer instanceof L.Circle) {
        var center = map.wrapLatLng(layer.getLatLng());
        circles.push({ lat: round(center.lat), lon: round(center.lng), radius_km: Math.round(layer.getRadius()) / 1000 });
      } else if (layer instanceof L.Polygon) {
        var ring = layer.getLatLngs()[0].map(function (point) {
          point = map.wrapLatLng(point);
          return [round(point.lat), round(point.lng)];
        });
        ring.push(ring[0].slice()); // closed, as CAP and GeoJSON want it
        polygons.push(ring);
      }
    });
    if (circles.length || geocodes.length) {
      var own = {};
      if (polygons.length) { own.polygons = polygons; }
      if (circles.length) { own.circles = circles; }
      if (geocodes.length) { own.geocodes = geocodes; }
      return JSON.stringify(own);
    }
    if (polygons.length === 1) {
      return JSON.stringify({ type: "Polygon", coordinates: [lonLat(polygons[0])] });
    }
    if (polygons.length) {
      return JSON.stringify({ type: "MultiPolygon", coordinates: polygons.map(function (r) { return [lonLat(r)]; }) });
    }
    return "";
  }

  // Leaflet writes the credit as HTML: ours is text.
  function escaped(text) {
    var holder = document.createElement("span");
    holder.textContent = text;
    return holder.innerHTML;
  }

  function setUp(container) {
    var field = document.getElementById(container.getAttribute("data-area-map"));
    var mapElement = container.querySelector(".area-map");
    if (!field || !mapElement || container.getAttribute("data-area-map-ready") || typeof L === "undefined" || !L.Control.Draw) {
      return;
    }
    // In a closed <details>: no map (and no tile fetched) until it is opened.
    var details = container.closest("details");
    if (details && !details.open) {
      if (!container.getAttribute("data-area-map-waiting")) {
        container.setAttribute("data-area-map-waiting", "true");
        details.addEventListener("toggle", function () {
          if (details.open) {
            setUp(container);
          }
        });
      }
      return;
    }
    container.setAttribute("data-area-map-ready", "true");
    container.hidden = false;
    var status = document.createElement("p");
    status.className = "field__hint area-map__status";
    status.setAttribute("role", "status");
    container.insertBefore(status, mapElement);

    // A view from the start: a circle's bounds need a map that has one.
    var map = L.map(mapElement, { scrollWheelZoom: false }).fitBounds(WORLD, { animate: false });
    L.tileLayer(container.getAttribute("data-tiles"), {
      maxZoom: 19,
      attribution: escaped(container.getAttribute("data-attribution") || ""),
    }).addTo(map);
    var layers = new L.FeatureGroup().addTo(map);
    var geocodes = []; // kept as they were typed: the map cannot show them

    map.addControl(new L.Control.Draw({
      draw: {
        polyline: false,
        marker: false,
        circlemarker: false,
        polygon: { allowIntersection: false, showArea: false },
        rectangle: { showArea: false },
        circle: { metric: true },
      },
      edit: { featureGroup: layers },
    }));

    function fit() {
      var bounds = layers.getBounds();
      map.fitBounds(bounds.isValid() ? bounds.pad(0.2) : WORLD, { maxZoom: 16, animate: false });
    }

    function draw() {
      var area = readField(field.value);
      status.textContent = area ? "" : UNREADABLE;
      if (!area) {
        return;
      }
      layers.clearLayers();
      geocodes = area.geocodes;
      area.polygons.forEach(function (ring) {
        if (ring.length >= 3) {
          layers.addLayer(L.polygon(ring));
        }
      });
      area.circles.forEach(function (circle) {
        layers.addLayer(L.circle([circle.lat, circle.lon], { radius: circle.radius_km * 1000 }));
      });
    }

    var writing = false;
    function write() {
      field.value = fieldText(map, layers, geocodes);
      status.textContent = "";
      writing = true; // console.js clears a refusal once the field changes; this file ignores it
      field.dispatchEvent(new Event("input", { bubbles: true }));
      writing = false;
    }

    map.on(L.Draw.Event.CREATED, function (event) {
      layers.addLayer(event.layer);
      write();
    });
    map.on([
      L.Draw.Event.EDITED, L.Draw.Event.DELETED, L.Draw.Event.EDITVERTEX, L.Draw.Event.EDITMOVE,
      L.Draw.Event.EDITRESIZE, L.Draw.Event.EDITSTOP, L.Draw.Event.DELETESTOP,
    ].join(" "), write);
    field.addEventListener("input", function () {
      if (!writing) {
        draw();
      }
    });

    draw();
    fit();
  }

  function setUpWithin(root) {
    var containers = root.querySelectorAll ? root.querySelectorAll("[data-area-map]") : [];
    Array.prototype.forEach.call(containers, setUp);
  }

  setUpWithin(document);
  document.addEventListener("htmx:load", function (event) {
    setUpWithin(event.detail && event.detail.elt ? event.detail.elt : document);
  });
})();
