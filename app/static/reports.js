/* The reports page's charts, drawn with the vendored Chart.js from the JSON the server
   embedded in #report-data. Without JavaScript (or Chart.js) the tables carry the numbers. */
(function () {
  "use strict";

  var REASONS = {
    frustration: "Frustration",
    low_confidence: "Low confidence",
    customer_request: "Customer request",
  };
  var COLOURS = ["#1d4ed8", "#b91c1c", "#d97706", "#15803d", "#7c3aed", "#0e7490"];

  function readReport() {
    var node = document.getElementById("report-data");
    if (!node) return null;
    try {
      return JSON.parse(node.textContent || "null");
    } catch (err) {
      return null;
    }
  }

  function chartOn(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) return null;
    config.options = Object.assign(
      { responsive: true, maintainAspectRatio: false, animation: false },
      config.options || {}
    );
    return new window.Chart(canvas, config);
  }

  function drawDays(report) {
    var days = report.days || [];
    chartOn("rp-chart-days", {
      type: "bar",
      data: {
        labels: days.map(function (d) { return d.day; }),
        datasets: [
          { label: "Conversations", data: days.map(function (d) { return d.conversations; }), backgroundColor: "#93c5fd", yAxisID: "y" },
          { label: "Handed to a person", data: days.map(function (d) { return d.handoffs; }), backgroundColor: "#fca5a5", yAxisID: "y" },
          {
            type: "line", label: "CSAT average", data: days.map(function (d) { return d.csat_average; }),
            borderColor: "#15803d", backgroundColor: "#15803d", spanGaps: true, yAxisID: "csat",
          },
        ],
      },
      options: {
        scales: {
          y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "Conversations" } },
          csat: { position: "right", min: 1, max: 5, grid: { drawOnChartArea: false }, title: { display: true, text: "CSAT" } },
        },
      },
    });
  }

  function drawReasons(report) {
    var reasons = Object.keys(report.handoff_reasons || {});
    chartOn("rp-chart-reasons", {
      type: "doughnut",
      data: {
        labels: reasons.map(function (r) { return REASONS[r] || r; }),
        datasets: [{ data: reasons.map(function (r) { return report.handoff_reasons[r]; }), backgroundColor: COLOURS }],
      },
    });
  }

  function drawCsat(report) {
    var distribution = (report.csat && report.csat.distribution) || {};
    var scores = ["1", "2", "3", "4", "5"];
    chartOn("rp-chart-csat", {
      type: "bar",
      data: {
        labels: scores.map(function (s) { return s + " / 5"; }),
        datasets: [{
          label: "Ratings",
          data: scores.map(function (s) { return distribution[s] || 0; }),
          backgroundColor: ["#b91c1c", "#f97316", "#facc15", "#84cc16", "#15803d"],
        }],
      },
      options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
  }

  function start() {
    var report = readReport();
    var section = document.querySelector('[data-role="charts"]');
    if (!report || !section || typeof window.Chart !== "function") return;
    section.hidden = false; // before drawing: Chart.js sizes the canvases from their boxes
    drawDays(report);
    drawReasons(report);
    drawCsat(report);
    section.setAttribute("data-drawn", "true");
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
