/* Afflux portal: small progressive enhancements. Every page works without this file. */
(function () {
  'use strict';

  function copy(button) {
    var target = document.getElementById(button.getAttribute('data-copy'));
    if (!target) return;
    var text = target.value || target.textContent;
    var done = function () {
      var before = button.textContent;
      button.textContent = 'Copied';
      setTimeout(function () {
        button.textContent = before;
      }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
    } else {
      target.select && target.select();
      document.execCommand('copy');
      done();
    }
  }

  /** Pre-selects the browser's own zone in time zone pickers still on the UTC default. */
  function guessTimeZone() {
    var select = document.getElementById('f-timeZone');
    if (!select || select.value !== 'UTC') return;
    try {
      var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (zone && select.querySelector('option[value="' + zone + '"]')) select.value = zone;
    } catch (e) {
      /* keep UTC */
    }
  }

  /** uPlot line charts from a data-chart JSON attribute: {days: [...], series: [{label, currency, values: ["12.50", ...]}]}. */
  function drawCharts() {
    if (!window.uPlot) return;
    var palette = ['#1d5fd1', '#0f9d58', '#d97706', '#7c3aed', '#db2777'];
    document.querySelectorAll('[data-chart]').forEach(function (el) {
      var data = JSON.parse(el.getAttribute('data-chart'));
      var xs = data.days.map(function (d) {
        return Date.parse(d + 'T12:00:00Z') / 1000;
      });
      var money = function (currency) {
        var f = new Intl.NumberFormat('en-US', { style: 'currency', currency: currency, currencyDisplay: 'narrowSymbol' });
        return function (u, v) {
          return v == null ? '' : f.format(v);
        };
      };
      var series = [{}].concat(
        data.series.map(function (s, i) {
          return {
            label: s.label,
            stroke: palette[i % palette.length],
            width: 2,
            fill: i === 0 ? 'rgba(29,95,209,0.08)' : undefined,
            scale: s.scale || 'y',
            value: s.currency ? money(s.currency) : undefined,
          };
        }),
      );
      var axes = [
        { space: 60 },
        {
          scale: 'y',
          values:
            data.series[0] && data.series[0].currency
              ? function (u, vals) {
                  return vals.map(function (v) {
                    return money(data.series[0].currency)(u, v);
                  });
                }
              : undefined,
          size: 80,
        },
      ];
      if (
        data.series.some(function (s) {
          return s.scale === 'n';
        })
      )
        axes.push({ scale: 'n', side: 1, grid: { show: false }, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] });
      var opts = {
        width: el.clientWidth || 800,
        height: 260,
        scales: {
          x: { time: true },
          y: {
            auto: true,
            range: function (u, min, max) {
              return [0, Math.max(max, 1)];
            },
          },
          n: {
            range: function (u, min, max) {
              return [0, Math.max(max, 1)];
            },
          },
        },
        series: series,
        axes: axes,
        legend: { live: false },
        cursor: { drag: { x: false, y: false } },
      };
      el.textContent = '';
      var rows = [xs].concat(
        data.series.map(function (s) {
          return s.values.map(function (v) {
            return v === null ? null : Number(v);
          });
        }),
      );
      new window.uPlot(opts, rows, el);
    });
  }

  document.addEventListener('click', function (event) {
    var button = event.target.closest && event.target.closest('[data-copy]');
    if (button) {
      event.preventDefault();
      copy(button);
    }
  });
  document.addEventListener('submit', function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute('data-confirm');
    if (question && !window.confirm(question)) event.preventDefault();
  });
  document.addEventListener('DOMContentLoaded', function () {
    guessTimeZone();
    drawCharts();
  });
})();
