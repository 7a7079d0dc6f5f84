// Draw the resumption series (ECharts): the share of units open per group, and the totals.
(function () {
  "use strict";
  function data(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }
  var chart = data("reopening-chart-data");
  var strings = data("reopening-strings") || {};
  var node = document.getElementById("reopening-chart");
  if (!chart || !node || !window.echarts) { return; }
  function percent(values) {
    return values.map(function (v) { return v === null ? null : Math.round(v * 1000) / 10; });
  }
  var series = chart.groups.map(function (g) {
    return { name: g.name, type: "line", data: percent(g.open), showSymbol: false };
  });
  series.push({ name: strings.total, type: "line", data: percent(chart.total_open), lineStyle: { width: 3 }, showSymbol: false });
  series.push({ name: strings.staff, type: "line", data: percent(chart.total_staff), lineStyle: { type: "dashed", width: 3 }, showSymbol: false });
  var plot = echarts.init(node);
  plot.setOption({
    animation: false,
    tooltip: { trigger: "axis", valueFormatter: function (v) { return v === null || v === undefined ? "—" : v + " %"; } },
    legend: { type: "scroll", top: 0 },
    grid: { left: 40, right: 16, top: 40, bottom: 30 },
    xAxis: { type: "category", data: chart.days },
    yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value} %" } },
    series: series
  });
  window.addEventListener("resize", function () { plot.resize(); });
})();
