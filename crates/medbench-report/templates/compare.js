// Charts of the medbench comparison page (reads #report-data, draws with ECharts).
(function () {
  "use strict";
  if (typeof echarts === "undefined") { return; }
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var charts = [];
  function f1(x) { return (typeof x === "number" && isFinite(x)) ? x.toFixed(1) : "—"; }
  function init(id) {
    var el = document.getElementById(id);
    if (!el) { return null; }
    var c = echarts.init(el, null, { renderer: "canvas" });
    charts.push(c);
    return c;
  }
  var lbl = { show: true, position: "right", fontSize: 10, formatter: function (p) { return f1(p.value); } };
  var dims = init("chart-dims");
  if (dims && data.dims.length) {
    dims.setOption({
      animation: false,
      color: ["#2f6fed", "#f28e2b"],
      legend: { top: 0, data: ["A: " + data.a, "B: " + data.b] },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      grid: { left: 10, right: 40, top: 36, bottom: 20, containLabel: true },
      xAxis: { type: "value", min: 0, max: 100 },
      yAxis: { type: "category", inverse: true, data: data.dims.map(function (d) { return d.en; }), axisLabel: { fontSize: 11 } },
      series: [
        { type: "bar", name: "A: " + data.a, label: lbl, data: data.dims.map(function (d) { return d.a === null ? "-" : d.a; }) },
        { type: "bar", name: "B: " + data.b, label: lbl, data: data.dims.map(function (d) { return d.b === null ? "-" : d.b; }) }
      ]
    });
  }
  var deltas = init("chart-deltas");
  if (deltas && data.deltas.length) {
    deltas.setOption({
      animation: false,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      grid: { left: 10, right: 40, top: 10, bottom: 20, containLabel: true },
      xAxis: { type: "value" },
      yAxis: { type: "category", inverse: true, data: data.deltas.map(function (d) { return d.name; }),
        axisLabel: { fontSize: 11, width: 200, overflow: "truncate" } },
      series: [{ type: "bar", name: "Δ (A − B)", label: lbl, data: data.deltas.map(function (d) {
        return { value: d.d, itemStyle: { color: d.d >= 0 ? "#2f855a" : "#c53030" }, label: { position: d.d >= 0 ? "right" : "left" } };
      }) }]
    });
  }
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
