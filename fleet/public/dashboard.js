/* global Chart */
// The fleet dashboard: reads GET /v1/adoption (session cookie) and draws it with Chart.js.
(function () {
  'use strict';
  var REFRESH_MS = 30000;
  var MAX_REFRESHES = 2880; // a day of refreshes, then the page stops polling
  var adoptionChart = null;
  var sourceChart = null;
  var palette = ['#2563eb', '#16a34a', '#d97706', '#9333ea', '#dc2626', '#0891b2', '#4b5563', '#db2777'];

  function text(id, value) {
    document.getElementById(id).textContent = String(value);
  }

  function table(id, rows) {
    var t = document.getElementById(id);
    t.textContent = '';
    var head = t.insertRow();
    ['device', 'version', 'source', 'phase', 'last error', 'rollbacks', 'last seen'].forEach(function (h) {
      var th = document.createElement('th');
      th.textContent = h;
      head.appendChild(th);
    });
    rows.forEach(function (d) {
      var r = t.insertRow();
      [d.deviceId, d.version, d.sourceKind, d.phase, d.lastError || '', d.rollbackCount, d.lastSeen].forEach(
        function (v) {
          r.insertCell().textContent = String(v);
        },
      );
    });
  }

  function render(a) {
    text('generated', 'as of ' + a.generatedAt);
    text('t-devices', a.totals.devices);
    text('t-default', a.bySource.default);
    text('t-custom', a.bySource.custom);
    text('t-updating', a.totals.updating);
    text('t-failing', a.totals.failing);
    text('t-rolled-back', a.totals.rolledBack);
    text('t-silent', a.totals.silent);
    var labels = a.series.buckets.map(function (b) {
      return new Date(b).toLocaleString();
    });
    var datasets = a.series.versions.map(function (v, i) {
      var color = palette[i % palette.length];
      return {
        label: v.version,
        data: v.devices,
        borderColor: color,
        backgroundColor: color + '55',
        fill: true,
      };
    });
    if (adoptionChart === null) {
      adoptionChart = new Chart(document.getElementById('adoption-chart'), {
        type: 'line',
        data: { labels: labels, datasets: datasets },
        options: {
          animation: false,
          maintainAspectRatio: false,
          elements: { point: { radius: 0 } },
          scales: { y: { stacked: true, beginAtZero: true, title: { display: true, text: 'devices' } } },
        },
      });
      sourceChart = new Chart(document.getElementById('source-chart'), {
        type: 'doughnut',
        data: {
          labels: ['default source', 'custom source'],
          datasets: [
            { data: [a.bySource.default, a.bySource.custom], backgroundColor: ['#2563eb', '#d97706'] },
          ],
        },
        options: { animation: false, maintainAspectRatio: false },
      });
    } else {
      adoptionChart.data.labels = labels;
      adoptionChart.data.datasets = datasets;
      adoptionChart.update();
      sourceChart.data.datasets[0].data = [a.bySource.default, a.bySource.custom];
      sourceChart.update();
    }
    table('failing', a.failing);
    table('rolled-back', a.rolledBack);
    table('silent', a.silent);
    document.body.setAttribute('data-rendered', a.generatedAt);
  }

  var refreshes = 0;
  function load() {
    fetch('/v1/adoption', { credentials: 'same-origin' })
      .then(function (res) {
        if (res.status === 401) {
          window.location.href = '/login';
          return null;
        }
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.json();
      })
      .then(function (a) {
        if (a !== null) render(a);
        document.getElementById('load-error').hidden = true;
      })
      .catch(function (err) {
        var e = document.getElementById('load-error');
        e.textContent = 'Could not load adoption data: ' + err.message;
        e.hidden = false;
      })
      .finally(function () {
        refreshes += 1;
        if (refreshes < MAX_REFRESHES) setTimeout(load, REFRESH_MS);
      });
  }
  load();
})();
