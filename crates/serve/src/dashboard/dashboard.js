// cascade serve's dashboard: keeps the page's figures live over the service's event stream
// (/v1/events). On every event that changes a figure it fetches /live.json (at most one request in
// flight, at most two a second) and rewrites the tiles and their sparklines. No library.
(function () {
  'use strict';

  var UNITS = [[1e3, 'k'], [1e6, 'M'], [1e9, 'B'], [1e12, 'T']];

  // The same text as the server's fmt_usd: $12.35, $7.89k, −$4.56M, n/a, $∞.
  function fmtUsd(x) {
    if (x === null || x === undefined || Number.isNaN(x)) return 'n/a';
    var sign = x < 0 ? '\u2212' : '';
    var a = Math.abs(x);
    if (!Number.isFinite(a)) return sign + '$\u221e';
    var u = -1;
    for (var i = 0; i < UNITS.length; i++) if (a >= UNITS[i][0]) u = i;
    for (;;) {
      var text = (u >= 0 ? a / UNITS[u][0] : a).toFixed(2);
      if (text.indexOf('1000.') === 0 && u + 1 < UNITS.length) { u += 1; continue; }
      return sign + '$' + text + (u >= 0 ? UNITS[u][1] : '');
    }
  }

  function fmtCount(x) {
    if (x === null || x === undefined || !Number.isFinite(x)) return 'n/a';
    return Math.round(x).toLocaleString('en-US');
  }

  function pad(n) { return (n < 10 ? '0' : '') + n; }

  function fmtTime(ms) {
    if (!ms || ms <= 0) return '\u2014';
    var d = new Date(ms);
    return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate()) + ' ' +
      pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()) + ':' + pad(d.getUTCSeconds()) + ' UTC';
  }

  function fmt(v, kind) {
    if (kind === 'count') return fmtCount(v);
    if (kind === 'time') return fmtTime(v);
    return fmtUsd(v);
  }

  // The points of a sparkline, as the server's sparkline_points draws them.
  function sparkPoints(pts, w, h) {
    pts = pts.filter(function (p) { return Number.isFinite(p[0]) && Number.isFinite(p[1]); });
    if (!pts.length) return '';
    var t0 = pts[0][0], t1 = pts[pts.length - 1][0];
    var lo = Infinity, hi = -Infinity;
    pts.forEach(function (p) { lo = Math.min(lo, p[1]); hi = Math.max(hi, p[1]); });
    var span = hi / 2 - lo / 2, padding = 2;
    return pts.map(function (p) {
      var x = t1 > t0 ? (p[0] - t0) / (t1 - t0) * w : w;
      var y = span > 0 && Number.isFinite(span) ? padding + (1 - (p[1] / 2 - lo / 2) / span) * (h - 2 * padding) : h / 2;
      return x.toFixed(1) + ',' + y.toFixed(1);
    }).join(' ');
  }

  function setText(el, text) {
    if (el.textContent !== text) {
      el.textContent = text;
      el.classList.remove('changed');
      void el.offsetWidth;
      el.classList.add('changed');
    }
  }

  function apply(data) {
    document.querySelectorAll('[data-live="seq"]').forEach(function (el) { setText(el, String(data.seq)); });
    document.querySelectorAll('[data-live="updated_at_ms"]').forEach(function (el) { setText(el, fmtTime(data.updated_at_ms)); });
    var values = data.values || {};
    document.querySelectorAll('[data-key]').forEach(function (el) {
      var k = el.getAttribute('data-key');
      if (!(k in values)) return;
      var v = values[k];
      setText(el, fmt(v === null ? NaN : v, el.getAttribute('data-format')));
      var tile = el.closest('.tile');
      var svg = tile && tile.querySelector('svg.sparkline');
      if (!svg || v === null) return;
      var pts;
      try { pts = JSON.parse(svg.getAttribute('data-points') || '[]'); } catch (e) { pts = []; }
      var last = pts[pts.length - 1];
      if (!last || last[1] !== v || data.at_ms - last[0] > 60000) pts.push([data.at_ms, v]);
      if (pts.length > 240) pts = pts.slice(pts.length - 240);
      svg.setAttribute('data-points', JSON.stringify(pts));
      var vb = svg.viewBox.baseVal;
      var line = svg.querySelector('polyline.spark');
      if (line) line.setAttribute('points', sparkPoints(pts, vb.width, vb.height));
    });
  }

  var tiles = document.querySelector('[data-key]') !== null;
  var inFlight = false, again = false, lastAt = 0;

  function refresh() {
    if (inFlight) { again = true; return; }
    var wait = Math.max(0, 500 - (Date.now() - lastAt));
    inFlight = true;
    setTimeout(function () {
      lastAt = Date.now();
      fetch('/live.json', { credentials: 'same-origin', cache: 'no-store' })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (d) { if (d) apply(d); })
        .catch(function () {})
        .then(function () {
          inFlight = false;
          if (again) { again = false; refresh(); }
        });
    }, wait);
  }

  function connection(text, live) {
    document.querySelectorAll('[data-live="connection"]').forEach(function (el) {
      el.textContent = text;
      el.classList.toggle('live', live);
    });
  }

  if (!window.EventSource) { connection('live updates unavailable in this browser', false); return; }
  var es = new EventSource('/v1/events');
  es.onopen = function () { connection('live', true); };
  es.onerror = function () { connection('reconnecting\u2026', false); };
  es.addEventListener('summary', function (e) {
    var s;
    try { s = JSON.parse(e.data); } catch (err) { return; }
    document.querySelectorAll('[data-live="seq"]').forEach(function (el) { setText(el, String(s.seq)); });
    document.querySelectorAll('[data-live="updated_at_ms"]').forEach(function (el) { setText(el, fmtTime(s.updated_at_ms)); });
    if (tiles) refresh();
  });
  es.addEventListener('watchlist', function () { if (tiles) refresh(); });
  es.addEventListener('alert', function () { if (tiles) refresh(); });
  window.addEventListener('pagehide', function () { es.close(); });
})();
