// Draw an alert's series (ECharts) and its communities (Leaflet, no tiles: the city's own points).
(function () {
  "use strict";
  function data(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }
  var strings = data("ewarn-strings") || {};
  var chart = data("ewarn-chart-data");
  var chartNode = document.getElementById("ewarn-chart");
  if (chart && chartNode && window.echarts) {
    var series = [{ name: strings.observed, type: "bar", data: chart.observed, itemStyle: { color: "#64748b" } }];
    var shown = {};  // the primary detector's lines are drawn; the others wait in the legend
    Object.keys(chart.detectors || {}).forEach(function (name) {
      var on = !chart.primary || name === chart.primary;
      shown[name + " · " + strings.expected] = on;
      shown[name + " · " + strings.threshold] = on;
      var d = chart.detectors[name];
      series.push({ name: name + " · " + strings.expected, type: "line", data: d.expected, showSymbol: false, lineStyle: { type: "dashed" } });
      series.push({
        name: name + " · " + strings.threshold, type: "line", data: d.threshold, showSymbol: false,
        markPoint: { symbol: "pin", symbolSize: 28, data: d.alarms.map(function (i) { return { name: strings.alarm, coord: [i, chart.observed[i]] }; }) }
      });
    });
    var plot = echarts.init(chartNode);
    plot.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { type: "scroll", top: 0, selected: shown },
      grid: { left: 40, right: 16, top: 40, bottom: 40 },
      xAxis: { type: "category", data: chart.days },
      yAxis: { type: "value", minInterval: 1 },
      dataZoom: [{ type: "inside" }],
      series: series
    });
    window.addEventListener("resize", function () { plot.resize(); });
  }
  var points = data("ewarn-map-data");
  var mapNode = document.getElementById("ewarn-map");
  if (points && points.length && mapNode && window.L) {
    var map = L.map(mapNode, { attributionControl: false, zoomSnap: 0.25 });
    var bounds = [];
    points.forEach(function (p) {
      var marker = L.circleMarker([p.lat, p.lon], {
        radius: p.member ? 10 : 6, weight: 1, color: p.member ? "#b91c1c" : "#475569",
        fillColor: p.member ? "#ef4444" : "#94a3b8", fillOpacity: 0.8
      }).addTo(map);
      marker.bindTooltip(p.name + (p.observed != null ? " · " + p.observed : ""), { permanent: p.member });
      bounds.push([p.lat, p.lon]);
    });
    var box = L.latLngBounds(bounds);
    if (box.getNorthEast().equals(box.getSouthWest())) {
      map.setView(box.getCenter(), 14);  // one place (or all at one place): nothing to fit
    } else {
      map.fitBounds(box, { padding: [24, 24] });
    }
  }
})();
