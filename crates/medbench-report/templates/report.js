// Charts of the medbench single-run report. Reads the JSON in #report-data
// (written by medbench-report) and draws with the inlined Apache ECharts.
(function () {
  "use strict";
  if (typeof echarts === "undefined") { return; }
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var charts = [];

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function f1(x) { return (typeof x === "number" && isFinite(x)) ? x.toFixed(1) : "—"; }
  // Break a label into lines of at most `width` characters at spaces.
  function wrap(s, width) {
    var words = String(s).split(" "), lines = [], cur = "";
    words.forEach(function (w) {
      if (cur && (cur + " " + w).length > width) { lines.push(cur); cur = w; }
      else { cur = cur ? cur + " " + w : w; }
    });
    if (cur) { lines.push(cur); }
    return lines.join("\n");
  }
  function init(id) {
    var el = document.getElementById(id);
    if (!el) { return null; }
    var c = echarts.init(el, null, { renderer: "canvas" });
    charts.push(c);
    return c;
  }

  // Error bars as a custom series. Each datum is [lo, hi, categoryIndex, score].
  // `horizontal`: value axis is x, category axis is y.
  // Room above a chart for a legend of n entries: about five fit on a line, and each
  // line takes 24 px, so a long legend never covers the chart's first bars.
  function legendHeight(n) {
    return 12 + 24 * Math.max(1, Math.ceil(n / 5));
  }

  function errorBars(points, horizontal, showText) {
    return {
      type: "custom", name: "95% CI", silent: true, z: 10,
      renderItem: function (params, api) {
        var lo = api.value(0), hi = api.value(1), idx = api.value(2);
        var a = horizontal ? api.coord([lo, idx]) : api.coord([idx, lo]);
        var b = horizontal ? api.coord([hi, idx]) : api.coord([idx, hi]);
        var band = api.size(horizontal ? [0, 1] : [1, 0])[horizontal ? 1 : 0];
        var cap = Math.max(3, Math.min(8, band * 0.2));
        var st = { stroke: "#3e4c59", lineWidth: 1.2 };
        var kids = [
          { type: "line", shape: { x1: a[0], y1: a[1], x2: b[0], y2: b[1] }, style: st },
          horizontal
            ? { type: "line", shape: { x1: a[0], y1: a[1] - cap, x2: a[0], y2: a[1] + cap }, style: st }
            : { type: "line", shape: { x1: a[0] - cap, y1: a[1], x2: a[0] + cap, y2: a[1] }, style: st },
          horizontal
            ? { type: "line", shape: { x1: b[0], y1: b[1] - cap, x2: b[0], y2: b[1] + cap }, style: st }
            : { type: "line", shape: { x1: b[0] - cap, y1: b[1], x2: b[0] + cap, y2: b[1] }, style: st }
        ];
        if (showText) {
          kids.push({
            type: "text",
            style: horizontal
              ? { x: b[0] + 6, y: b[1], text: f1(api.value(3)), fill: "#1f2933", font: "11px sans-serif", verticalAlign: "middle" }
              : { x: b[0], y: b[1] - 6, text: f1(api.value(3)), fill: "#1f2933", font: "11px sans-serif", align: "center", verticalAlign: "bottom" }
          });
        }
        return { type: "group", children: kids };
      },
      encode: horizontal ? { x: [0, 1], y: 2 } : { x: 2, y: [0, 1] },
      data: points
    };
  }

  function trackRadar(t) {
    var c = init(t.id);
    if (!c) { return; }
    var pts = t.points;
    var dashed = { type: "dashed", width: 1, color: "#9aa5b1" };
    c.setOption({
      animation: false,
      color: ["#2f6fed"],
      legend: { bottom: 0, data: ["Score", "95% CI"], textStyle: { fontSize: 11 } },
      tooltip: {
        trigger: "item",
        formatter: function () {
          return pts.map(function (p) {
            return esc(p.en) + ": <b>" + f1(p.score) + "</b> (" + f1(p.lo) + "–" + f1(p.hi) + ", n=" + p.n + ")";
          }).join("<br>");
        }
      },
      radar: {
        center: ["50%", "50%"], radius: "60%", splitNumber: 4,
        indicator: pts.map(function (p) { return { name: wrap(p.en, 18) + (p.zh ? "\n" + p.zh : ""), max: 100, min: 0 }; }),
        axisName: { color: "#3e4c59", fontSize: 11, lineHeight: 14 },
        splitArea: { areaStyle: { color: ["#ffffff", "#f7f9fb"] } }
      },
      series: [{
        type: "radar",
        data: [
          { name: "95% CI", value: pts.map(function (p) { return p.hi; }), symbol: "none", lineStyle: dashed, itemStyle: { color: "#9aa5b1" } },
          { name: "95% CI", value: pts.map(function (p) { return p.lo; }), symbol: "none", lineStyle: dashed, itemStyle: { color: "#9aa5b1" } },
          {
            name: "Score", value: pts.map(function (p) { return p.score; }), symbolSize: 5,
            areaStyle: { opacity: 0.18 }, lineStyle: { width: 2 },
            label: { show: true, formatter: function (x) { return f1(x.value); }, fontSize: 11, color: "#1f2933" }
          }
        ]
      }]
    });
  }

  function trackBars(t) {
    var c = init(t.id);
    if (!c) { return; }
    var pts = t.points;
    c.setOption({
      animation: false,
      grid: { left: 40, right: 20, top: 30, bottom: 60 },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, formatter: function (ps) {
        var p = pts[ps[0].dataIndex];
        return esc(p.en) + "<br><b>" + f1(p.score) + "</b> (95% CI " + f1(p.lo) + "–" + f1(p.hi) + ", n=" + p.n + ")";
      } },
      xAxis: { type: "category", data: pts.map(function (p) { return wrap(p.en, 16); }), axisLabel: { interval: 0, fontSize: 11 } },
      yAxis: { type: "value", min: 0, max: 100 },
      series: [
        { type: "bar", barMaxWidth: 60, data: pts.map(function (p) { return { value: p.score, itemStyle: { color: p.color } }; }) },
        errorBars(pts.map(function (p, i) { return [p.lo, p.hi, i, p.score]; }), false, true)
      ]
    });
  }

  function taskBars() {
    var c = init("chart-tasks");
    if (!c || !data.tasks.length) { return; }
    var tasks = data.tasks, byKey = {};
    data.dims.forEach(function (d) { byKey[d.key] = d; });
    var present = data.dims.filter(function (d) { return tasks.some(function (t) { return t.dim === d.key; }); });
    var series = present.map(function (d) {
      return {
        type: "bar", name: d.en, stack: "score", barMaxWidth: 18, itemStyle: { color: d.color },
        data: tasks.map(function (t) { return t.dim === d.key ? t.score : "-"; })
      };
    });
    series.push(errorBars(tasks.map(function (t, i) { return [t.lo, t.hi, i, t.score]; }), true, true));
    c.setOption({
      animation: false,
      legend: { top: 0, data: present.map(function (d) { return d.en; }), textStyle: { fontSize: 11 } },
      grid: { left: 10, right: 44, top: legendHeight(present.length), bottom: 36, containLabel: true },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, formatter: function (ps) {
        var t = tasks[ps[0].dataIndex], d = byKey[t.dim];
        return "<b>" + esc(t.name) + "</b><br>" + esc(d ? d.en : t.dim) + "<br>Score <b>" + f1(t.score) + "</b> (95% CI " +
          f1(t.lo) + "–" + f1(t.hi) + ")<br>n=" + t.n + " · unparsed " + t.unparsed + " · errors " + t.errors;
      } },
      xAxis: { type: "value", min: 0, max: 100, name: "Score (0–100)", nameLocation: "middle", nameGap: 24, splitLine: { lineStyle: { color: "#eef1f4" } } },
      yAxis: { type: "category", inverse: true, data: tasks.map(function (t) { return t.name; }),
        axisLabel: { interval: 0, fontSize: 11, width: 200, overflow: "truncate" }, axisTick: { show: false } },
      series: series
    });
  }

  function heatMap() {
    var h = data.heat, c = init("chart-heat");
    if (!c || !h.cells.length) { return; }
    c.setOption({
      animation: false,
      tooltip: { position: "top", formatter: function (p) {
        var v = p.data;
        return esc(h.y[v[1]]) + " × " + esc(h.x[v[0]].en) + "<br>Score <b>" + f1(v[2]) + "</b> · n=" + v[3];
      } },
      grid: { left: 10, right: 90, top: 10, bottom: 10, containLabel: true },
      // Many columns: one slanted line per label instead of stacked lines that collide.
      xAxis: { type: "category", data: h.x.map(function (x) {
          return h.x.length > 6 ? x.en : wrap(x.en, 16) + (x.zh ? "\n" + x.zh : ""); }),
        splitArea: { show: true },
        axisLabel: { interval: 0, fontSize: 11, lineHeight: 13, rotate: h.x.length > 6 ? 35 : 0 } },
      yAxis: { type: "category", data: h.y, splitArea: { show: true }, inverse: true,
        axisLabel: { fontSize: 11, width: 160, overflow: "truncate" } },
      // Cells are [x, y, score, n]: colour by the score (dimension 2), not the last value.
      visualMap: { dimension: 2, min: 0, max: 100, calculable: true, orient: "vertical", right: 0, top: "middle",
        itemHeight: 160, inRange: { color: ["#d73027", "#fee08b", "#1a9850"] } },
      series: [{ type: "heatmap", data: h.cells, label: { show: true, fontSize: 11, formatter: function (p) { return f1(p.data[2]); } },
        emphasis: { itemStyle: { shadowBlur: 6, shadowColor: "rgba(0,0,0,.3)" } } }]
    });
  }

  data.tracks.forEach(function (t) { if (t.kind === "radar") { trackRadar(t); } else { trackBars(t); } });
  taskBars();
  heatMap();
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
