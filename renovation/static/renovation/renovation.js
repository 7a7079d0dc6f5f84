// Cumulative starts and finishes by month (ECharts), with the year's targets as dashed lines.
(function () {
  "use strict";
  function data(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }
  var chart = data("ren-chart-data");
  var strings = data("ren-strings") || {};
  var node = document.getElementById("ren-chart");
  if (!chart || !node || !window.echarts) { return; }
  function flat(value) { return chart.months.map(function () { return value; }); }
  var series = [
    { name: strings.started, type: "line", data: chart.started, itemStyle: { color: "#b45309" } },
    { name: strings.finished, type: "line", data: chart.finished, itemStyle: { color: "#15803d" } }
  ];
  if (chart.target_start !== null) {
    series.push({ name: strings.target_start, type: "line", data: flat(chart.target_start), showSymbol: false, lineStyle: { type: "dashed" }, itemStyle: { color: "#b45309" } });
  }
  if (chart.target_finish !== null) {
    series.push({ name: strings.target_finish, type: "line", data: flat(chart.target_finish), showSymbol: false, lineStyle: { type: "dashed" }, itemStyle: { color: "#15803d" } });
  }
  var plot = echarts.init(node);
  plot.setOption({
    animation: false,
    tooltip: { trigger: "axis" },
    legend: { type: "scroll", top: 0 },
    grid: { left: 40, right: 16, top: 40, bottom: 30 },
    xAxis: { type: "category", data: chart.months },
    yAxis: { type: "value", minInterval: 1 },
    series: series
  });
  window.addEventListener("resize", function () { plot.resize(); });
})();
