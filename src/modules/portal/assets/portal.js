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

  var plots = [];

  /**
   * uPlot line charts from a data-chart JSON attribute: {days: [...], series: [{label, currency, scale, values: ["12.50", ...]}]}.
   * Every currency gets a scale and an axis of its own (dollars are never drawn against a euro axis);
   * counts share the scale 'n'. The first axis is on the left, the others on the right.
   */
  function drawCharts(root) {
    if (!window.uPlot) return;
    var palette = ['#1d5fd1', '#0f9d58', '#d97706', '#7c3aed', '#db2777'];
    (root || document).querySelectorAll('[data-chart]').forEach(function (el) {
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
      var scaleOf = function (s) {
        return s.currency || s.scale || 'n';
      };
      var scaleNames = [];
      var scales = { x: { time: true } };
      var axes = [{ space: 60 }];
      data.series.forEach(function (s) {
        var name = scaleOf(s);
        if (scaleNames.indexOf(name) >= 0) return;
        scaleNames.push(name);
        scales[name] = {
          range: function (u, min, max) {
            return [0, Math.max(max, 1)];
          },
        };
        var axis = { scale: name, side: scaleNames.length === 1 ? 3 : 1, size: 70, grid: { show: scaleNames.length === 1 } };
        if (s.currency) {
          axis.values = function (u, vals) {
            return vals.map(function (v) {
              return money(s.currency)(u, v);
            });
          };
        } else {
          axis.incrs = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];
        }
        axes.push(axis);
      });
      var series = [{}].concat(
        data.series.map(function (s, i) {
          return {
            label: s.label,
            stroke: palette[i % palette.length],
            width: 2,
            fill: i === 0 ? 'rgba(29,95,209,0.08)' : undefined,
            scale: scaleOf(s),
            value: s.currency ? money(s.currency) : undefined,
          };
        }),
      );
      var opts = {
        width: el.clientWidth || 320,
        height: 260,
        scales: scales,
        series: series,
        axes: axes,
        legend: { live: false },
        cursor: { drag: { x: false, y: false } },
      };
      el.textContent = '';
      el.setAttribute('data-axes', scaleNames.join(','));
      var rows = [xs].concat(
        data.series.map(function (s) {
          return s.values.map(function (v) {
            return v === null ? null : Number(v);
          });
        }),
      );
      plots.push({ el: el, plot: new window.uPlot(opts, rows, el) });
    });
  }

  /** Charts follow the width of their box (a phone turned, a window resized). */
  function resizeCharts() {
    plots.forEach(function (p) {
      var width = p.el.clientWidth;
      if (width && Math.abs(width - p.plot.width) > 2) p.plot.setSize({ width: width, height: p.plot.height });
    });
  }

  /** On narrow screens tables become cards: each cell is labelled with its column's header. */
  function labelCells(root) {
    (root || document).querySelectorAll('table').forEach(function (table) {
      var heads = Array.prototype.map.call(table.querySelectorAll('thead th'), function (th) {
        return th.textContent.trim();
      });
      if (!heads.length) return;
      table.querySelectorAll('tbody tr').forEach(function (tr) {
        Array.prototype.forEach.call(tr.children, function (td, i) {
          if (heads[i] && !td.hasAttribute('data-label')) td.setAttribute('data-label', heads[i]);
        });
      });
    });
  }

  /**
   * The offer editor's earnings preview, as the rules are typed (the server renders the same on
   * "Update the preview" without this file): what a sale of 100 in the offer's currency earns the
   * affiliate and costs the advertiser, per tier for a tiered rule. Rounded half-up, like the rules.
   */
  var PREVIEW_SALE = 100;

  function currencyDigits(form, currency) {
    if (currency === form.getAttribute('data-preview-currency')) return Number(form.getAttribute('data-preview-digits'));
    try {
      return new Intl.NumberFormat('en-US', { style: 'currency', currency: currency }).resolvedOptions().maximumFractionDigits;
    } catch (e) {
      return null;
    }
  }

  /** An amount typed in the currency's units, in minor units; null when it is not one. */
  function parseAmount(text, digits) {
    var m = /^(\d{1,12})(?:\.(\d+))?$/.exec(text);
    if (!m || (m[2] || '').length > digits) return null;
    return Number(m[1]) * Math.pow(10, digits) + Number(((m[2] || '') + '000').slice(0, digits) || 0);
  }

  /** A percent from 0 to 100 with at most two decimals, in basis points; null when it is not one. */
  function parsePercent(text) {
    var m = /^(\d{1,3})(?:\.(\d{1,2}))?$/.exec(text);
    if (!m) return null;
    var bps = Number(m[1]) * 100 + Number(((m[2] || '') + '00').slice(0, 2));
    return bps <= 10000 ? bps : null;
  }

  /** What one flat ("3.00") or percent ("12" or "12%") rule gives on `sale` minor units. */
  function simpleAmount(kind, text, sale, digits) {
    if (kind === 'percent') {
      var bps = parsePercent(text.replace(/%$/, '').trim());
      return bps === null ? null : Math.floor((sale * bps + 5000) / 10000);
    }
    return parseAmount(text, digits);
  }

  /** A rule as typed, on the preview's sale: [{amount}] or, tiered, [{amount, tier, from, sales}]; null when it does not parse. */
  function ruleAmounts(kind, text, sale, digits) {
    if (!text) return null;
    if (kind !== 'tiered') {
      var one = simpleAmount(kind, text, sale, digits);
      return one === null ? null : [{ amount: one }];
    }
    var sales = /^sales?\s*:\s*/i.test(text);
    var parts = text
      .replace(/^sales?\s*:\s*/i, '')
      .split(';')
      .map(function (p) {
        return p.trim();
      })
      .filter(Boolean);
    if (!parts.length) return null;
    var tiers = [];
    for (var i = 0; i < parts.length; i++) {
      var pair = parts[i].split('=');
      if (pair.length !== 2) return null;
      var start = pair[0].trim();
      var rate = pair[1].trim();
      var from = sales ? parseAmount(start, digits) : /^\d{1,12}$/.test(start) ? Number(start) : null;
      var amount = simpleAmount(/%$/.test(rate) ? 'percent' : 'flat', rate, sale, digits);
      if (from === null || amount === null || (tiers.length && from <= tiers[tiers.length - 1].from)) return null;
      tiers.push({ amount: amount, tier: i + 1, from: from, sales: sales });
    }
    return tiers;
  }

  /** Renders goal `i`'s preview paragraph from its fields as they are now. */
  function renderPreview(form, i) {
    var el = document.getElementById('goal-' + i + '-preview');
    if (!el) return;
    var select = form.querySelector('[name="currency"]');
    var currency = select ? select.value : form.getAttribute('data-preview-currency');
    var digits = currencyDigits(form, currency);
    var field = function (name) {
      var input = form.querySelector('[name="goals.' + i + '.' + name + '"]');
      return input ? input.value.trim() : '';
    };
    var sale = digits === null ? null : PREVIEW_SALE * Math.pow(10, digits);
    var payout = sale === null ? null : ruleAmounts(field('payout.type'), field('payout.value'), sale, digits);
    var revenue = sale === null ? null : ruleAmounts(field('revenue.type'), field('revenue.value'), sale, digits);
    el.textContent = '';
    el.hidden = !payout && !revenue;
    if (el.hidden) return;
    var money = function (minor) {
      return new Intl.NumberFormat('en-US', { style: 'currency', currency: currency, currencyDisplay: 'narrowSymbol' }).format(minor / Math.pow(10, digits));
    };
    var text = function (t) {
      el.appendChild(document.createTextNode(t));
    };
    var amounts = function (list) {
      list.forEach(function (a, n) {
        if (n) text(n === list.length - 1 ? ' and ' : ', ');
        var strong = document.createElement('strong');
        strong.textContent = money(a.amount);
        el.appendChild(strong);
        if (a.tier) text(' in tier ' + a.tier + ' (from ' + (a.sales ? money(a.from) + ' of sales' : a.from + ' conversions') + ' this month)');
      });
    };
    text('On a ' + money(sale) + ' sale');
    if (payout) {
      text(' the affiliate earns ');
      amounts(payout);
    }
    if (revenue) {
      text((payout ? ';' : '') + ' you pay ');
      amounts(revenue);
    }
    if (payout && revenue && payout.length === 1 && revenue.length === 1 && !payout[0].tier && !revenue[0].tier) {
      text(' (the network keeps ' + money(revenue[0].amount - payout[0].amount) + ')');
    }
    text('.');
  }

  function previewForms(root) {
    (root || document).querySelectorAll('form[data-preview-currency]').forEach(function (form) {
      form.querySelectorAll('[id$="-preview"][id^="goal-"]').forEach(function (el) {
        renderPreview(form, el.id.slice(5, -8));
      });
    });
  }

  function onRuleInput(event) {
    var target = event.target;
    var form = target.form;
    if (!form || !form.hasAttribute('data-preview-currency')) return;
    if (target.name === 'currency') return previewForms(form.parentNode);
    var m = /^goals\.(\d+)\.(?:payout|revenue)\.(?:type|value)$/.exec(target.name || '');
    if (m) renderPreview(form, m[1]);
  }

  document.addEventListener('input', onRuleInput);
  document.addEventListener('change', onRuleInput);
  document.addEventListener('click', function (event) {
    var button = event.target.closest && event.target.closest('[data-copy]');
    if (button) {
      event.preventDefault();
      copy(button);
    }
  });
  /** A confirmation declared on the button that submits (or else on the form) is asked before anything is sent. */
  document.addEventListener(
    'submit',
    function (event) {
      var form = event.target;
      var button = event.submitter;
      var question = (button && button.getAttribute('data-confirm')) || (form.getAttribute && form.getAttribute('data-confirm'));
      if (question && !window.confirm(question)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true,
  );
  /** Escape closes an open menu and gives the focus back to its toggle. */
  document.addEventListener('keydown', function (event) {
    if (event.key !== 'Escape') return;
    document.querySelectorAll('details.dropdown[open]').forEach(function (menu) {
      menu.removeAttribute('open');
      var summary = menu.querySelector('summary');
      if (summary) summary.focus();
    });
  });
  document.addEventListener('htmx:after:swap', function (event) {
    labelCells(event.target && event.target.parentNode ? event.target.parentNode : document);
  });
  var resizeTimer;
  window.addEventListener('resize', function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(resizeCharts, 50);
  });
  document.addEventListener('DOMContentLoaded', function () {
    guessTimeZone();
    labelCells();
    drawCharts();
    previewForms();
  });
})();
