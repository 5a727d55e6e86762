/* Draws every [data-chart] element from the JSON the server put inside it (ECharts, served locally). */
(function () {
  var GREEN = "#1f7a4d", AMBER = "#d68f00";
  var builders = {
    categories: function (data) {
      return {
        tooltip: { trigger: "item", formatter: "{b}：{c} kg（{d}%）" },
        color: [GREEN, AMBER, "#4c9f70", "#2f6f8f", "#8a9a90", "#c0392b"],
        legend: { top: 0 },
        series: [{ type: "pie", radius: ["35%", "62%"], top: 24, data: data.categories,
          label: { formatter: "{b}\n{d}%" } }]
      };
    },
    daily: function (data) {
      return {
        tooltip: { trigger: "axis" },
        grid: { left: 48, right: 16, top: 24, bottom: 28 },
        xAxis: { type: "category", data: data.days },
        yAxis: { type: "value", name: "kg" },
        series: [{ name: "减排量 (kg CO₂e)", type: "line", data: data.daily_kg, smooth: true, areaStyle: {},
          itemStyle: { color: GREEN } }]
      };
    },
    communities: function (data) {
      return {
        tooltip: { trigger: "axis" },
        legend: { data: ["减排量 (kg CO₂e)", "参与率 (%)"], top: 0 },
        grid: { left: 56, right: 48, top: 36, bottom: 40 },
        xAxis: { type: "category", data: data.communities, axisLabel: { interval: 0 } },
        yAxis: [{ type: "value", name: "kg" }, { type: "value", name: "%", max: 100 }],
        series: [
          { name: "减排量 (kg CO₂e)", type: "bar", barMaxWidth: 48, data: data.community_kg, itemStyle: { color: GREEN } },
          { name: "参与率 (%)", type: "line", yAxisIndex: 1, data: data.participation, itemStyle: { color: AMBER } }
        ]
      };
    },
    compare: function (data) {
      return {
        tooltip: { trigger: "axis" },
        legend: { data: ["现行版本", "草稿"], top: 0 },
        grid: { left: 56, right: 16, top: 36, bottom: 64 },
        xAxis: { type: "category", data: data.types, axisLabel: { rotate: 30, interval: 0 } },
        yAxis: { type: "value", name: "积分" },
        series: [
          { name: "现行版本", type: "bar", barMaxWidth: 48, data: data.current, itemStyle: { color: "#8a9a90" } },
          { name: "草稿", type: "bar", barMaxWidth: 48, data: data.draft, itemStyle: { color: GREEN } }
        ]
      };
    },
    shift: function (data) {
      var r = data.residents;
      return {
        tooltip: { trigger: "item", formatter: "{b}：{c} 人（{d}%）" },
        legend: { top: 0 },
        series: [{ type: "pie", radius: ["40%", "68%"], top: 24, label: { formatter: "{b}\n{c} 人" },
          data: [
            { name: "积分增加", value: r.gaining, itemStyle: { color: GREEN } },
            { name: "积分减少", value: r.losing, itemStyle: { color: "#c0392b" } },
            { name: "不变", value: r.unchanged, itemStyle: { color: "#b8c2bc" } }
          ] }]
      };
    },
    trend: function (data) {
      return {
        tooltip: { trigger: "axis" },
        legend: { data: ["减排量 (kg CO₂e)", "积分"], top: 0 },
        grid: { left: 48, right: 48, top: 36, bottom: 28 },
        xAxis: { type: "category", data: data.days },
        yAxis: [{ type: "value", name: "kg" }, { type: "value", name: "积分" }],
        series: [
          { name: "减排量 (kg CO₂e)", type: "bar", data: data.kg, itemStyle: { color: GREEN } },
          { name: "积分", type: "line", yAxisIndex: 1, data: data.points, smooth: true, itemStyle: { color: AMBER } }
        ]
      };
    }
  };
  function draw() {
    if (!window.echarts) { return; }
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = el.querySelector("script[type='application/json']");
      var build = builders[el.getAttribute("data-chart")];
      if (!source || !build) { return; }
      var chart = echarts.init(el, null, { locale: "ZH" });
      chart.setOption(build(JSON.parse(source.textContent)));
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  document.addEventListener("DOMContentLoaded", draw);
})();
