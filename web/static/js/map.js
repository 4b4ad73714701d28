// The device map's behaviour, called from folium's generated script: markers and cluster icons (FastMarkerCluster
// callbacks), the layer control's group entries, the legend, township names, ?focus= and the device count.
// A marker row is [lat, lon, device id, severity index, group mask]; severity index 3 means no open finding,
// bit i of the mask an open finding of the i-th finding group, and the data bit a request for data (无法评估: not a
// problem, so such a device also counts as one with no problem). Every text is set as text, never as HTML.
window.camauditMap = (function () {
  "use strict";
  var COLOURS = ["#c62828", "#ef6c00", "#f9a825", "#2e7d32"];
  var LABEL_MIN_ZOOM = 10;  // township names from this zoom on (a county fills the map at about 10)
  var settings = null;
  var markers = [];  // every marker made, whatever the cluster layer still has to add (chunked loading)

  function config() {
    if (!settings) {
      var el = document.getElementById("map-config");
      settings = el ? el.dataset : {};
    }
    return settings;
  }

  function message(text) {
    var p = document.createElement("p");
    p.textContent = text;
    return p;
  }

  function element(tag, className, text) {
    var el = document.createElement(tag);
    if (className) { el.className = className; }
    if (text !== undefined) { el.textContent = text; }
    return el;
  }

  function load(popup, id) {
    fetch(config().popupPrefix + id, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (html) { popup.setContent(html); })  // server-rendered, every value escaped
      .catch(function () { popup.setContent(message(config().failed)); });
  }

  function marker(row) {
    var m = L.circleMarker([row[0], row[1]], {
      radius: 7, color: "#ffffff", weight: 1.5, fillColor: COLOURS[row[3]], fillOpacity: 0.95,
      deviceId: row[2], severity: row[3], groups: row[4]
    });
    m.bindPopup(message(config().loading), {minWidth: 260, maxWidth: 380});
    m.on("popupopen", function (e) { load(e.popup, row[2]); });
    markers.push(m);
    return m;
  }

  function clusterIcon(cluster) {
    var worst = COLOURS.length - 1;
    cluster.getAllChildMarkers().forEach(function (m) { worst = Math.min(worst, m.options.severity); });
    var n = cluster.getChildCount();
    var size = n < 100 ? 34 : (n < 1000 ? 40 : 48);
    var div = element("div", "cluster", String(n));
    div.style.background = COLOURS[worst];
    div.style.width = div.style.height = div.style.lineHeight = (size - 6) + "px";
    return L.divIcon({html: div, className: "", iconSize: L.point(size, size)});
  }

  function showCount(map, n) {
    map.getContainer().dataset.shownMarkers = String(n);
    var count = document.getElementById("map-count-shown");
    if (count && config().shownTemplate) { count.textContent = config().shownTemplate.replace("{n}", String(n)); }
  }

  // ?focus=<device id>: the device's popup opens and a ring marks it, also after the popup is closed.
  function focus(map, cluster, all) {
    var id = Number(config().focus);
    if (!id) { return; }
    var target = all.filter(function (m) { return m.options.deviceId === id; })[0];
    if (!target) { return; }
    L.circleMarker(target.getLatLng(), {radius: 15, color: "#1565c0", weight: 3, fill: false, interactive: false})
      .addTo(map);
    map.getContainer().dataset.focused = String(id);
    cluster.zoomToShowLayer(target, function () { target.openPopup(); });
  }

  // The layer control's group entries (empty layers) choose which devices the one cluster layer shows; the count
  // above the map follows them.
  function connect(map, cluster, toggles, noneBit, dataBit) {
    var all = markers.slice();
    var active = {};
    var byLayer = new Map();
    toggles.forEach(function (t) { active[t[0]] = map.hasLayer(t[1]); byLayer.set(t[1], t[0]); });

    function refresh() {
      var mask = 0;
      Object.keys(active).forEach(function (bit) { if (active[bit] && Number(bit) !== noneBit) { mask |= 1 << bit; } });
      var shown = all.filter(function (m) {
        var problems = m.options.groups & ~(1 << dataBit);
        return (m.options.groups & mask) !== 0 || (problems === 0 && active[noneBit]);
      });
      cluster.clearLayers();
      cluster.addLayers(shown);
      showCount(map, shown.length);
    }

    function toggled(on) {
      return function (e) {
        if (byLayer.has(e.layer)) { active[byLayer.get(e.layer)] = on; refresh(); }
      };
    }
    map.on("overlayadd", toggled(true));
    map.on("overlayremove", toggled(false));
    showCount(map, all.length);
    if (map.attributionControl) { map.attributionControl.setPrefix("Leaflet"); }  // without the flag icon
    focus(map, cluster, all);
  }

  function swatch(entry) {
    var box = element("span", "legend-swatch");
    if (entry.kind === "line") {
      box.className += " legend-line";
      box.style.borderTopColor = entry.colour;
      box.style.borderTopStyle = entry.dash ? "dashed" : "solid";
    }
    return box;
  }

  function legendEntry(entry) {
    var row = element("div", "legend-entry");
    var title = element("div", "legend-title");
    if (entry.kind === "line") { title.appendChild(swatch(entry)); }
    if (entry.kind === "text") { title.appendChild(element("span", "legend-text", entry.sample)); }
    if (entry.kind === "cluster") { title.appendChild(element("span", "legend-cluster", "12")); }
    title.appendChild(document.createTextNode(entry.label));
    row.appendChild(title);
    if (entry.note) { row.appendChild(element("div", "legend-note", entry.note)); }
    if (entry.kind === "dots") {
      var dots = element("div", "legend-items");
      entry.items.forEach(function (item) {
        var dot = element("i", "legend-dot");
        dot.style.background = item[0];
        dots.appendChild(dot);
        dots.appendChild(document.createTextNode(item[1] + " "));
      });
      row.appendChild(dots);
    }
    if (entry.kind === "shades") {
      var shades = element("div", "legend-items legend-shades");
      entry.items.forEach(function (item) {
        var cell = element("span", "legend-shade");
        var box = element("i");
        box.style.background = entry.colour;
        box.style.opacity = String(item[0]);
        cell.appendChild(box);
        cell.appendChild(element("span", "", item[1]));
        shades.appendChild(cell);
      });
      row.appendChild(shades);
    }
    if (entry.kind === "ramp") {
      var ramp = element("div", "legend-items legend-ramp");
      ramp.appendChild(element("span", "", entry.ends[0]));
      var bar = element("i");
      bar.style.background = "linear-gradient(to right, " + entry.colours.join(", ") + ")";
      ramp.appendChild(bar);
      ramp.appendChild(element("span", "", entry.ends[1]));
      row.appendChild(ramp);
    }
    return row;
  }

  // entries: [layer or null, {kind, label, …}]; an entry with a layer is shown while that layer is on the map.
  function legend(map, entries) {
    var control = L.control({position: "bottomright"});
    control.onAdd = function () {
      var box = element("div", "legend map-legend");
      box.id = "map-legend";
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      entries.forEach(function (pair) {
        var row = legendEntry(pair[1]);
        if (pair[0]) {
          row.hidden = !map.hasLayer(pair[0]);
          map.on("overlayadd", function (e) { if (e.layer === pair[0]) { row.hidden = false; } });
          map.on("overlayremove", function (e) { if (e.layer === pair[0]) { row.hidden = true; } });
        }
        box.appendChild(row);
      });
      return box;
    };
    control.addTo(map);
    zoomClass(map);
  }

  // Names written at points ([lat, lon, name]); shown once the map is zoomed in far enough to read them.
  function labels(layer, points) {
    points.forEach(function (p) {
      var icon = L.divIcon({className: "township-label", html: element("span", "", p[2]), iconSize: null});
      L.marker([p[0], p[1]], {icon: icon, interactive: false, keyboard: false}).addTo(layer);
    });
  }

  function zoomClass(map) {
    var container = map.getContainer();
    function update() { container.classList.toggle("labels-hidden", map.getZoom() < LABEL_MIN_ZOOM); }
    map.on("zoomend", update);
    update();
  }

  // The department switch: choosing a department shows its devices and opens the map on its area.
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("map-filters");
    var select = form && form.querySelector("select[name=department]");
    if (select) { select.addEventListener("change", function () { form.submit(); }); }
  });

  return {marker: marker, clusterIcon: clusterIcon, connect: connect, legend: legend, labels: labels};
}());
