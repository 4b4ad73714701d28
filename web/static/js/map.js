// Markers and cluster icons of the device map (used by folium's FastMarkerCluster callbacks).
// A marker row is [lat, lon, device id, severity index, group mask]; severity index 3 means no open finding,
// bit i of the mask an open finding of the i-th finding group.
window.camauditMap = (function () {
  "use strict";
  var COLOURS = ["#c62828", "#ef6c00", "#f9a825", "#2e7d32"];
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
    var div = document.createElement("div");
    div.className = "cluster";
    div.style.background = COLOURS[worst];
    div.style.width = div.style.height = div.style.lineHeight = (size - 6) + "px";
    div.textContent = String(n);
    return L.divIcon({html: div, className: "", iconSize: L.point(size, size)});
  }

  // The layer control's group entries (empty layers) choose which devices the one cluster layer shows.
  function connect(map, cluster, toggles, noneBit) {
    var all = markers.slice();
    var active = {};
    var byLayer = new Map();
    toggles.forEach(function (t) { active[t[0]] = map.hasLayer(t[1]); byLayer.set(t[1], t[0]); });

    function refresh() {
      var mask = 0;
      Object.keys(active).forEach(function (bit) { if (active[bit] && Number(bit) !== noneBit) { mask |= 1 << bit; } });
      var shown = all.filter(function (m) {
        return (m.options.groups & mask) !== 0 || (m.options.groups === 0 && active[noneBit]);
      });
      cluster.clearLayers();
      cluster.addLayers(shown);
      map.getContainer().dataset.shownMarkers = String(shown.length);
    }

    function toggled(on) {
      return function (e) {
        if (byLayer.has(e.layer)) { active[byLayer.get(e.layer)] = on; refresh(); }
      };
    }
    map.on("overlayadd", toggled(true));
    map.on("overlayremove", toggled(false));
    map.getContainer().dataset.shownMarkers = String(all.length);
  }

  return {marker: marker, clusterIcon: clusterIcon, connect: connect};
}());
