// Waypost console: the live inbox (SSE), relative times, charts and the edit diff preview.
// No framework; pages work without this file, it only makes them live.
(function () {
  "use strict";

  function ago(iso) {
    var s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    if (s < 1) return Math.round(s * 1000) + " ms";
    if (s < 10) return s.toFixed(1) + " s";
    if (s < 60) return Math.round(s) + " s";
    if (s < 3600) return Math.round(s / 60) + " min";
    if (s < 86400) return (s / 3600).toFixed(1) + " h";
    return (s / 86400).toFixed(1) + " d";
  }

  function tickAges() {
    document.querySelectorAll("time.age[datetime]").forEach(function (el) {
      el.textContent = ago(el.getAttribute("datetime"));
    });
  }

  function setCount(n) {
    var badge = document.getElementById("inbox-count");
    if (badge) { badge.textContent = n; badge.setAttribute("data-count", n); }
  }

  function liveInbox() {
    var table = document.getElementById("inbox");
    if (!table || !window.EventSource) return;
    var body = document.getElementById("inbox-rows");
    var live = document.getElementById("live");
    var seen = {};
    body.querySelectorAll("tr[data-approval]").forEach(function (tr) { seen[tr.dataset.approval] = true; });
    var source = new EventSource(table.dataset.stream);
    source.onopen = function () { live.dataset.state = "open"; };
    source.onerror = function () { live.dataset.state = "error"; };
    source.addEventListener("inbox", function (event) {
      var data = JSON.parse(event.data);
      body.innerHTML = data.html;  // rendered and escaped by the server
      body.querySelectorAll("tr[data-approval]").forEach(function (tr) {
        if (!seen[tr.dataset.approval]) { tr.classList.add("fresh"); seen[tr.dataset.approval] = true; }
      });
      setCount(data.count);
      live.dataset.state = "open";
      tickAges();
    });
  }

  var PALETTE = ["#3949ab", "#ef6c00", "#26a69a", "#8e24aa", "#c62828", "#6d4c41", "#546e7a"];

  function chartConfig(spec) {
    var horizontal = !!spec.horizontal;
    var datasets = spec.datasets.map(function (d, i) {
      var color = d.color || PALETTE[i % PALETTE.length];
      var out = {
        label: d.label, data: d.data,
        backgroundColor: d.colors || color, borderColor: d.colors || color,
        borderWidth: spec.type === "line" || d.kind === "line" ? 2 : 0,
        spanGaps: true
      };
      if (d.kind) out.type = d.kind;
      if (d.axis === "y2") out.yAxisID = "y2";
      return out;
    });
    var config = {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { legend: { display: spec.type === "doughnut" || datasets.length > 1, position: "bottom" } }
      }
    };
    if (spec.type === "doughnut") return config;
    var valueAxis = { beginAtZero: true, stacked: !!spec.stacked, title: { display: !!spec.unit, text: spec.unit } };
    if (spec.max) valueAxis.max = spec.max;
    var labelAxis = { stacked: !!spec.stacked, ticks: { autoSkip: true } };
    config.options.indexAxis = horizontal ? "y" : "x";
    config.options.scales = horizontal ? { x: valueAxis, y: labelAxis } : { x: labelAxis, y: valueAxis };
    if (datasets.some(function (d) { return d.yAxisID === "y2"; })) {
      config.options.scales.y2 = { beginAtZero: true, position: "right", grid: { drawOnChartArea: false }, title: { display: true, text: "USD" } };
    }
    return config;
  }

  function charts() {
    if (!window.Chart) return;
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var source = document.getElementById("chart-" + canvas.dataset.chart);
      if (!source) return;
      var spec = JSON.parse(source.textContent);
      if (spec.horizontal && spec.labels.length > 6) {
        canvas.parentElement.style.height = Math.min(900, 60 + 26 * spec.labels.length) + "px";
      }
      new window.Chart(canvas, chartConfig(spec));
    });
  }

  function diffPreview() {
    var form = document.getElementById("edit-form");
    var out = document.getElementById("diff-preview");
    if (!form || !out) return;
    function update() {
      var lines = [];
      form.querySelectorAll("[data-original]").forEach(function (el) {
        var now = el.type === "checkbox" ? String(el.checked) : el.value;
        if (now !== el.dataset.original) {
          lines.push(el.name.replace(/^arg\./, "") + ": " + el.dataset.original + " → " + now);
        }
      });
      out.hidden = lines.length === 0;
      out.textContent = lines.length ? "Changes: " + lines.join("; ") : "";
    }
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    liveInbox();
    charts();
    diffPreview();
    setInterval(tickAges, 5000);
  });
})();
