// The command centre: map (Leaflet, the city's own points, no tiles), trend (ECharts), and a live
// feed that redraws when the figures were refreshed. Everything drawn comes from one JSON payload.
(function () {
  "use strict";
  var script = document.currentScript;
  var data = JSON.parse(document.getElementById("dash-data").textContent);
  var select = document.getElementById("dash-indicator");
  var RISK = ["#16a34a", "#f59e0b", "#dc2626"];

  function colourFor(indicator, value, max) {
    if (indicator === "risk_level") { return RISK[Math.max(0, Math.min(2, value || 0))]; }
    if (!value) { return "#cbd5e1"; }
    var share = max ? value / max : 0;  // light to dark red by share of the highest area
    var light = Math.round(85 - 50 * share);
    return "hsl(0, 70%, " + light + "%)";
  }

  var map = null, layer = null, legend = null;
  function drawMap() {
    var node = document.getElementById("dash-map");
    if (!node || !window.L) { return; }
    var points = (data.compounds && data.compounds.length ? data.compounds : data.children).filter(function (p) {
      return p.lat !== null && p.lon !== null && p.lat !== undefined;
    });
    if (!map) { map = L.map(node, { attributionControl: false, zoomSnap: 0.25 }); }
    if (layer) { layer.remove(); }
    layer = L.layerGroup().addTo(map);
    var indicator = select ? select.value : "risk_level";
    var max = Math.max.apply(null, points.map(function (p) { return p.values[indicator] || 0; }).concat([0]));
    var bounds = [];
    points.forEach(function (p) {
      var value = p.values[indicator] || 0;
      var residents = p.values.residents || 0;
      var marker = L.circleMarker([p.lat, p.lon], {
        radius: residents ? Math.max(6, Math.min(28, Math.sqrt(residents) / 12)) : 8,
        weight: 1, color: "#334155", fillColor: colourFor(indicator, value, max), fillOpacity: 0.85
      }).addTo(layer);
      // names stay on the map while there are few places to name
      marker.bindTooltip(p.name + " · " + value, { permanent: points.length <= 20, direction: "top" });
      if (p.url) { marker.on("click", function () { window.location.href = p.url; }); }
      bounds.push([p.lat, p.lon]);
    });
    if (!bounds.length) { map.setView([30.59, 114.3], 10); return; }
    var box = L.latLngBounds(bounds);
    if (box.getNorthEast().equals(box.getSouthWest())) { map.setView(box.getCenter(), 14); }
    else { map.fitBounds(box, { padding: [24, 24] }); }
    if (legend) { legend.remove(); }
    legend = L.control({ position: "bottomright" });
    legend.onAdd = function () {
      var div = L.DomUtil.create("div", "dash-legend");
      div.textContent = data.labels[indicator] || indicator;
      if (indicator === "risk_level") {
        div.appendChild(document.createElement("br"));
        RISK.forEach(function (colour, i) {
          var dot = document.createElement("i"); dot.style.background = colour;
          div.appendChild(dot); div.appendChild(document.createTextNode(String(i) + " "));
        });
      } else {
        div.appendChild(document.createTextNode(" ≤ " + max));
      }
      return div;
    };
    legend.addTo(map);
  }

  var trend = null;
  function drawTrend() {
    var node = document.getElementById("dash-trend");
    if (!node || !window.echarts) { return; }
    var first = new Date(data.trend.first_day + "T00:00:00");
    var codes = Object.keys(data.trend).filter(function (k) { return k !== "first_day"; });
    var days = data.trend[codes[0]].map(function (_, i) {
      var d = new Date(first.getTime() + i * 86400000);
      return (d.getMonth() + 1) + "-" + d.getDate();
    });
    if (!trend) {
      trend = echarts.init(node);
      window.addEventListener("resize", function () { trend.resize(); if (map) { map.invalidateSize(); } });
    }
    trend.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 40, right: 12, top: 36, bottom: 28 },
      xAxis: { type: "category", data: days },
      yAxis: { type: "value", minInterval: 1 },
      color: ["#b91c1c", "#c2410c", "#d97706", "#ca8a04"],
      series: codes.map(function (code) {
        return { name: data.labels[code] || code, type: "bar", stack: "new", data: data.trend[code] };
      })
    }, true);
  }

  function updateFigures() {
    document.querySelectorAll("[data-figure]").forEach(function (node) {
      var value = data.figures[node.getAttribute("data-figure")];
      if (value !== undefined) { node.textContent = Number(value).toLocaleString(); }
    });
  }

  drawMap();
  drawTrend();
  if (select) { select.addEventListener("change", drawMap); }

  var status = document.getElementById("dash-status");
  var every = Number(status && status.getAttribute("data-live")) || 60;
  var feed = script && script.getAttribute("data-feed");
  function poll() {
    if (!feed || document.hidden) { return; }
    fetch(feed, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (fresh) {
        if (!fresh || fresh.refreshed_at === data.refreshed_at) { return; }
        data = fresh;
        updateFigures();
        drawMap();
        drawTrend();
        if (status) { status.setAttribute("data-refreshed", fresh.refreshed_at || ""); }
      })
      .catch(function () { /* offline for a moment: the next poll tries again */ });
  }
  window.setInterval(poll, every * 1000);
})();
