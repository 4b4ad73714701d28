// The public notice's map: every site found by the search, clustered, each with a popup of what the notice
// publishes (as text). Data: #notice-sites [[lat, lon, department, road, direction, site, type, violations]],
// #notice-tiles (the configured base map; none by default, the map works without).
(function () {
  "use strict";
  var box = document.getElementById("notice-map");
  if (!box || !window.L) { return; }
  var sites = JSON.parse(document.getElementById("notice-sites").textContent);
  var tiles = JSON.parse(document.getElementById("notice-tiles").textContent);
  var labels = JSON.parse(box.dataset.labels);
  if (!sites.length) {
    box.classList.add("empty");
    box.textContent = box.dataset.empty;
    return;
  }
  var map = L.map(box, {scrollWheelZoom: false, maxZoom: 18});
  map.attributionControl.setPrefix("Leaflet");
  tiles.forEach(function (t) {
    L.tileLayer(t.url, {attribution: t.attribution, subdomains: t.subdomains, maxZoom: 18}).addTo(map);
  });

  function line(label, value) {
    var p = document.createElement("div");
    var b = document.createElement("strong");
    b.textContent = label + "：";
    p.appendChild(b);
    p.appendChild(document.createTextNode(value));
    return p;
  }

  function popup(s) {
    var div = document.createElement("div");
    div.className = "notice-popup";
    div.appendChild(line(labels.department, s[2]));
    div.appendChild(line(labels.road, [s[3], s[4]].filter(Boolean).join(" ")));
    div.appendChild(line(labels.address, s[5]));
    div.appendChild(line(labels.type, s[6]));
    if (s[7]) { div.appendChild(line(labels.kinds, s[7])); }
    return div;
  }

  var cluster = L.markerClusterGroup({showCoverageOnHover: false, maxClusterRadius: 50});
  var bounds = [];
  sites.forEach(function (s) {
    var marker = L.circleMarker([s[0], s[1]], {radius: 7, color: "#fff", weight: 1.5, fillColor: "#1d4f91",
                                               fillOpacity: 0.9});
    marker.bindPopup(popup(s), {maxWidth: 280});
    cluster.addLayer(marker);
    bounds.push([s[0], s[1]]);
  });
  cluster.addTo(map);
  map.fitBounds(bounds, {padding: [20, 20], maxZoom: 16});
  box.dataset.sites = String(sites.length);
}());
