// crossfire's report: the timeline, the plots and the links from anomalies to their ops.
// Everything from the history is written as text (textContent, fillText), never as markup.
(function () {
  'use strict';

  var D = JSON.parse(document.getElementById('crossfire-data').textContent);
  var N = D.start.length;
  var OUTCOME = ['ok', 'fail', 'info', 'no completion'];
  var COLOR = ['#2e9d4f', '#d64545', '#e0a21b', '#8a8f98'];
  var NODE_COLOR = ['#3867d6', '#eb8c2f', '#20a39e', '#8854d0', '#e84393', '#6ab04c', '#535c68', '#c0392b', '#16a085'];
  var BAND = { partition: '56,103,214', heal: '56,103,214', kill: '214,69,69', pause: '136,84,208', disconnect: '40,40,40',
    retry: '32,163,158', duplicate: '32,163,158', latency: '32,163,158' };
  // Opaque colours as the little-endian 32-bit pixels of an ImageData (0xAABBGGRR).
  function rgba32(hex) {
    var n = parseInt(hex.slice(1), 16);
    return ((255 << 24) | ((n & 0xff) << 16) | (n & 0xff00) | ((n >> 16) & 0xff)) >>> 0;
  }
  var NODE_RGBA = NODE_COLOR.map(rgba32), OUTCOME_RGBA = COLOR.map(rgba32);
  function bandRGB(f) { return BAND[f] || (f.indexOf('clock') === 0 ? '235,140,47' : '110,110,110'); }
  // The kinds of fault in the run, in the order they first come: each has its stripe's row.
  var KINDS = [];
  D.windows.forEach(function (w) { if (KINDS.indexOf(w.f) < 0) KINDS.push(w.f); });
  // shortLabel is what a band says of its fault: the value's words (its kind is the colour, in
  // the legend), "one-way n3->n1" rather than 'partition {"shape":"one-way","cut":["n3->n1"]}'.
  function shortLabel(w) {
    var d = w.d.indexOf(w.f + ' ') === 0 ? w.d.slice(w.f.length + 1) : w.d, words = [];
    try {
      (function walk(v) {
        if (v === null || v === undefined) return;
        if (Array.isArray(v)) { v.forEach(walk); return; }
        if (typeof v === 'object') { Object.keys(v).forEach(function (k) { walk(v[k]); }); return; }
        words.push(String(v));
      })(JSON.parse(d));
    } catch (e) { words = [d]; }
    return words.join(' ') || w.f;
  }
  // fitText cuts s to width px with an ellipsis.
  function fitText(c, s, width) {
    if (c.measureText(s).width <= width) return s;
    while (s.length > 1 && c.measureText(s + '…').width > width) s = s.slice(0, -1);
    return s.length > 1 ? s + '…' : '';
  }

  // Each lane's ops in time order (a process is sequential, and ops come in invoke order).
  var laneOps = [];
  for (var l = 0; l < D.lanes.length; l++) laneOps.push([]);
  for (var i = 0; i < N; i++) laneOps[D.lane[i]].push(i);
  // History index (invoke or completion) -> op.
  var byIndex = new Map();
  for (i = 0; i < N; i++) { byIndex.set(D.inv[i], i); if (D.cmp[i] >= 0) byIndex.set(D.cmp[i], i); }

  // Rows: a header row per leader, then its lanes.
  var rows = [];
  var rowOfLane = new Int32Array(D.lanes.length);
  var lastNode = -1;
  D.lanes.forEach(function (ln, idx) {
    if (ln.n !== lastNode) { rows.push({ node: ln.n, lane: -1 }); lastNode = ln.n; }
    rowOfLane[idx] = rows.length;
    rows.push({ node: ln.n, lane: idx });
  });

  function fmtTime(us) {
    var a = Math.abs(us);
    if (a >= 1e6) return (us / 1e6).toFixed(a >= 1e8 ? 0 : 3).replace(/\.?0+$/, '') + 's';
    if (a >= 1e3) return (us / 1e3).toFixed(1).replace(/\.0$/, '') + 'ms';
    return us.toFixed(0) + 'µs';
  }
  function nodeName(n) { return D.nodes[n] === '' ? '(no leader)' : D.nodes[n]; }
  function describe(op) {
    var d = D.detail[op], lat = D.stop[op] - D.start[op];
    var lines = [
      '#' + D.inv[op] + (D.cmp[op] >= 0 ? ' → #' + D.cmp[op] : '') + '   process ' + D.lanes[D.lane[op]].p + ' at ' + nodeName(D.node[op]),
      D.fs[D.f[op]] + (D.keys[D.key[op]] !== '' ? ' ' + D.keys[D.key[op]] : '') + '   ' + OUTCOME[D.outcome[op]] +
        '   ' + fmtTime(D.start[op]) + ' + ' + fmtTime(lat)
    ];
    if (d[0]) lines.push('argument: ' + d[0]);
    if (d[1]) lines.push('result: ' + d[1]);
    if (d[2]) lines.push('error: ' + d[2]);
    if (d[3]) lines.push('req: ' + d[3]);
    if (d[4]) lines.push('meta: ' + d[4]);
    return lines.join('\n');
  }
  // First op of a lane whose stop is at or after t (stops grow along a lane).
  function firstEndingAfter(ops, t) {
    var lo = 0, hi = ops.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (D.stop[ops[mid]] < t) lo = mid + 1; else hi = mid; }
    return lo;
  }

  // ---- The timeline ----------------------------------------------------------------------
  var canvas = document.getElementById('timeline');
  var tip = document.getElementById('tooltip');
  var selBox = document.getElementById('selection');
  var rangeBox = document.getElementById('view-range');
  var ctx = canvas.getContext('2d');
  var GUTTER = 96, AXIS = 34, LANE = 14;
  var end = Math.max(D.end, 1);
  var S = { t0: 0, t1: end, y: 0, sel: [], hover: -1, drawn: 0, width: 0, height: 0 };

  function plotWidth() { return Math.max(S.width - GUTTER, 10); }
  function X(t) { return GUTTER + (t - S.t0) / (S.t1 - S.t0) * plotWidth(); }
  function T(x) { return S.t0 + (x - GUTTER) / plotWidth() * (S.t1 - S.t0); }
  function viewHeight() { return S.height - AXIS; }
  function maxY() { return Math.max(0, rows.length * LANE - viewHeight()); }
  function clamp() {
    var span = S.t1 - S.t0;
    var minSpan = 5; // µs
    if (span < minSpan) { var mid = (S.t0 + S.t1) / 2; S.t0 = mid - minSpan / 2; S.t1 = mid + minSpan / 2; span = minSpan; }
    if (span > end * 1.05) { S.t0 = -end * 0.025; S.t1 = end * 1.025; }
    S.y = Math.min(Math.max(S.y, 0), maxY());
  }

  function resize() {
    var dpr = window.devicePixelRatio || 1;
    S.width = canvas.parentElement.clientWidth || 800;
    S.height = Math.min(Math.max(rows.length * LANE + AXIS, 120), 620);
    canvas.style.height = S.height + 'px';
    canvas.width = Math.round(S.width * dpr);
    canvas.height = Math.round(S.height * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    clamp();
  }

  function niceStep(span, px) {
    var raw = span / Math.max(px / 90, 1), p = Math.pow(10, Math.floor(Math.log10(raw)));
    var m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
  }

  function drawBands(c, top, height, withLabels) {
    var free = 0; // labels do not overlap: one that would is left to the hover
    c.font = '11px system-ui, sans-serif';
    D.windows.forEach(function (w) {
      if (w.e < S.t0 || w.s > S.t1) return;
      var x0 = Math.max(X(w.s), GUTTER), x1 = Math.min(Math.max(X(w.e), x0 + 2), S.width);
      c.fillStyle = 'rgba(' + bandRGB(w.f) + ',0.13)';
      c.fillRect(x0, top, x1 - x0, height);
      // Each kind's stripe on a row of its own, so that overlapping faults both show.
      c.fillStyle = 'rgba(' + bandRGB(w.f) + ',0.75)';
      c.fillRect(x0, top + 4 * KINDS.indexOf(w.f), Math.max(x1 - x0, 2), 3);
      if (withLabels && x1 - x0 > 24 && x0 >= free) {
        var label = fitText(c, shortLabel(w), x1 - x0 - 5);
        if (label === '') return;
        c.fillStyle = 'rgb(' + bandRGB(w.f) + ')';
        c.fillText(label, x0 + 3, 12);
        free = x0 + 6 + c.measureText(label).width;
      }
    });
  }

  function draw() {
    var W = S.width, H = S.height;
    ctx.clearRect(0, 0, W, H);
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, W, H);
    drawBands(ctx, AXIS, H - AXIS, true);
    // Axis.
    var step = niceStep(S.t1 - S.t0, plotWidth());
    ctx.font = '11px system-ui, sans-serif';
    ctx.strokeStyle = '#e3e7ee'; ctx.fillStyle = '#667085';
    for (var t = Math.ceil(S.t0 / step) * step; t <= S.t1; t += step) {
      var x = X(t);
      ctx.beginPath(); ctx.moveTo(x, AXIS - 6); ctx.lineTo(x, H); ctx.stroke();
      ctx.fillText(fmtTime(t), x + 2, AXIS - 8);
    }
    // Rows in view.
    var first = Math.floor(S.y / LANE), last = Math.min(rows.length - 1, Math.ceil((S.y + H - AXIS) / LANE));
    var drawn = 0, fill = -1;
    ctx.save();
    ctx.beginPath(); ctx.rect(GUTTER, AXIS, W - GUTTER, H - AXIS); ctx.clip();
    for (var r = first; r <= last; r++) {
      var row = rows[r], y = AXIS + r * LANE - S.y;
      if (row.lane < 0) {
        ctx.fillStyle = 'rgba(16,21,31,0.06)'; ctx.fillRect(GUTTER, y, W - GUTTER, LANE); fill = -1;
        continue;
      }
      var ops = laneOps[row.lane];
      var lastX = -1, lastColor = -1;
      for (var k = firstEndingAfter(ops, S.t0); k < ops.length; k++) {
        var op = ops[k];
        if (D.start[op] > S.t1) break;
        // Whole pixels, at least two wide, so that a dense lane stays legible zoomed out.
        var x0 = Math.floor(X(D.start[op])), x1 = Math.max(Math.ceil(X(D.stop[op])), x0 + 2);
        var oc = D.outcome[op];
        if (x1 <= lastX && oc === lastColor) continue; // within pixels already painted
        if (oc !== fill) { ctx.fillStyle = COLOR[oc]; fill = oc; }
        ctx.fillRect(x0, y + 2, x1 - x0, LANE - 4);
        lastX = x1; lastColor = oc; drawn++;
      }
    }
    // The selection, then the op under the pointer, on top.
    S.sel.forEach(function (op) { outline(op, '#0b1f4d', 2.5); });
    if (S.hover >= 0) outline(S.hover, '#000', 1);
    ctx.restore();
    // Gutter: leader names and processes.
    ctx.fillStyle = '#f5f7fa'; ctx.fillRect(0, AXIS, GUTTER, H - AXIS);
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, GUTTER, AXIS);
    ctx.save();
    ctx.beginPath(); ctx.rect(0, AXIS, GUTTER, H - AXIS); ctx.clip();
    for (r = first; r <= last; r++) {
      row = rows[r]; y = AXIS + r * LANE - S.y;
      if (row.lane < 0) {
        ctx.fillStyle = NODE_COLOR[row.node % NODE_COLOR.length];
        ctx.font = 'bold 11px system-ui, sans-serif';
        ctx.fillText('leader ' + nodeName(row.node), 4, y + LANE - 3);
      } else {
        ctx.fillStyle = '#667085'; ctx.font = '10px system-ui, sans-serif';
        ctx.fillText('process ' + D.lanes[row.lane].p, 14, y + LANE - 3);
      }
    }
    ctx.restore();
    ctx.strokeStyle = '#d8dde6'; ctx.beginPath(); ctx.moveTo(GUTTER + 0.5, 0); ctx.lineTo(GUTTER + 0.5, H); ctx.stroke();
    S.drawn = drawn;
    rangeBox.textContent = fmtTime(Math.max(S.t0, 0)) + ' – ' + fmtTime(Math.min(S.t1, end)) + ', ' + drawn + ' bars drawn';
    canvas.dataset.t0 = S.t0; canvas.dataset.t1 = S.t1; canvas.dataset.drawn = drawn;
    canvas.dataset.selected = S.sel.map(function (op) { return D.inv[op]; }).join(',');
  }

  function outline(op, color, width) {
    var y = AXIS + rowOfLane[D.lane[op]] * LANE - S.y;
    var x0 = X(D.start[op]), x1 = Math.max(X(D.stop[op]), x0 + 1);
    ctx.strokeStyle = color; ctx.lineWidth = width;
    ctx.strokeRect(x0 - width, y + 1 - width / 2, x1 - x0 + 2 * width, LANE - 2 + width);
    ctx.lineWidth = 1;
  }

  var pending = false;
  function redraw() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; draw(); drawPlots(); });
  }

  // The op at a point of the canvas, or -1.
  function opAt(px, py) {
    if (px < GUTTER || py < AXIS) return -1;
    var r = Math.floor((py - AXIS + S.y) / LANE);
    if (r < 0 || r >= rows.length || rows[r].lane < 0) return -1;
    var ops = laneOps[rows[r].lane], t = T(px), slack = (S.t1 - S.t0) / plotWidth() * 2;
    var k = firstEndingAfter(ops, t - slack);
    if (k < ops.length && D.start[ops[k]] <= t + slack) return ops[k];
    return -1;
  }
  function windowAt(px) {
    var t = T(px), found = [];
    D.windows.forEach(function (w) { if (w.s <= t && t <= w.e) found.push(w.f + ' ' + w.d + '  (' + fmtTime(w.s) + ' – ' + fmtTime(w.e) + ')'); });
    return found;
  }

  function showTip(text, px, py) {
    tip.textContent = text;
    tip.hidden = false;
    var left = px + 14, top = py + 14;
    if (left + 460 > S.width) left = Math.max(px - 470, 0);
    tip.style.left = left + 'px'; tip.style.top = top + 'px';
  }

  var drag = null;
  canvas.addEventListener('mousedown', function (e) {
    drag = { x: e.offsetX, y: e.offsetY, t0: S.t0, t1: S.t1, sy: S.y, moved: false };
  });
  window.addEventListener('mouseup', function (e) {
    if (drag && !drag.moved && e.target === canvas) {
      var op = opAt(e.offsetX, e.offsetY);
      select(op >= 0 ? [op] : [], false);
    }
    drag = null; canvas.classList.remove('dragging');
  });
  canvas.addEventListener('mousemove', function (e) {
    if (drag && (Math.abs(e.offsetX - drag.x) > 2 || Math.abs(e.offsetY - drag.y) > 2)) {
      drag.moved = true; canvas.classList.add('dragging');
      var dt = (e.offsetX - drag.x) / plotWidth() * (drag.t1 - drag.t0);
      S.t0 = drag.t0 - dt; S.t1 = drag.t1 - dt; S.y = drag.sy - (e.offsetY - drag.y);
      clamp(); tip.hidden = true; redraw();
      return;
    }
    var op = opAt(e.offsetX, e.offsetY);
    if (op !== S.hover) { S.hover = op; redraw(); }
    if (op >= 0) { showTip(describe(op), e.offsetX, e.offsetY); return; }
    var ws = e.offsetX >= GUTTER ? windowAt(e.offsetX) : [];
    if (ws.length) showTip(ws.join('\n'), e.offsetX, e.offsetY); else tip.hidden = true;
  });
  canvas.addEventListener('mouseleave', function () { tip.hidden = true; if (S.hover >= 0) { S.hover = -1; redraw(); } });
  canvas.addEventListener('wheel', function (e) {
    e.preventDefault();
    if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
      S.y += e.shiftKey ? e.deltaY : e.deltaX;
    } else {
      zoomAt(e.offsetX < GUTTER ? GUTTER + plotWidth() / 2 : e.offsetX, Math.exp(e.deltaY * 0.0015));
    }
    clamp(); redraw();
  }, { passive: false });
  function zoomAt(px, factor) {
    var t = T(px);
    S.t0 = t - (t - S.t0) * factor; S.t1 = t + (S.t1 - t) * factor;
    clamp();
  }
  document.getElementById('fit').addEventListener('click', function () { S.t0 = -end * 0.01; S.t1 = end * 1.01; S.y = 0; clamp(); redraw(); });
  document.getElementById('zoom-in').addEventListener('click', function () { zoomAt(GUTTER + plotWidth() / 2, 0.5); redraw(); });
  document.getElementById('zoom-out').addEventListener('click', function () { zoomAt(GUTTER + plotWidth() / 2, 2); redraw(); });

  // select pins ops: they are outlined, listed under the timeline, and, if focus, brought into view.
  function select(ops, focus) {
    S.sel = ops;
    selBox.textContent = ops.length ? ops.map(describe).join('\n\n') : '';
    if (focus && ops.length) {
      var lo = Infinity, hi = -Infinity, top = Infinity;
      ops.forEach(function (op) { lo = Math.min(lo, D.start[op]); hi = Math.max(hi, D.stop[op]); top = Math.min(top, rowOfLane[D.lane[op]]); });
      var pad = Math.max((hi - lo) * 0.6, 2000);
      S.t0 = lo - pad; S.t1 = hi + pad;
      S.y = top * LANE - viewHeight() / 3;
      clamp();
    }
    redraw();
  }

  // The faults' legend: one swatch per kind, in the colour of its bands and stripe.
  var faultLegend = document.getElementById('fault-legend');
  if (faultLegend) KINDS.forEach(function (f) {
    var sw = document.createElement('i'); sw.className = 'sw'; sw.style.background = 'rgba(' + bandRGB(f) + ',0.75)';
    faultLegend.appendChild(sw); faultLegend.appendChild(document.createTextNode(f));
  });

  // The anomaly list: a filter over every entry's text; groups with nothing left hide.
  var filter = document.getElementById('anomaly-filter'), countNote = document.getElementById('anomaly-count');
  function applyFilter() {
    var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean), shown = 0, total = 0, groups = 0;
    Array.prototype.forEach.call(document.querySelectorAll('#anomalies details.group'), function (g) {
      var visible = 0;
      Array.prototype.forEach.call(g.querySelectorAll('li.anomaly'), function (li) {
        var text = (g.querySelector('summary').textContent + ' ' + li.textContent).toLowerCase();
        var ok = words.every(function (w) { return text.indexOf(w) >= 0; });
        li.hidden = !ok; total++;
        if (ok) visible++;
      });
      g.hidden = visible === 0;
      if (visible > 0) groups++;
      shown += visible;
    });
    countNote.textContent = words.length ? shown + ' of ' + total + ' listed anomalies match, in ' + groups + ' groups' : countNote.dataset.all;
  }
  if (filter) {
    countNote.dataset.all = countNote.textContent;
    filter.addEventListener('input', applyFilter);
  }

  // Anomalies link to their ops.
  Array.prototype.forEach.call(document.querySelectorAll('.anomaly-link'), function (a) {
    a.addEventListener('click', function (e) {
      e.preventDefault();
      var ops = [];
      (a.getAttribute('data-ops') || '').split(',').forEach(function (s) {
        var op = byIndex.get(Number(s));
        if (s !== '' && op !== undefined && ops.indexOf(op) < 0) ops.push(op);
      });
      Array.prototype.forEach.call(document.querySelectorAll('#anomalies li.active'), function (li) { li.classList.remove('active'); });
      a.parentElement.classList.add('active');
      select(ops, true);
      document.getElementById('timeline-section').scrollIntoView({ block: 'start' });
    });
  });

  // ---- Plots --------------------------------------------------------------------------------
  var latCanvas = document.getElementById('latency'), thrCanvas = document.getElementById('throughput');
  var legend = document.getElementById('plot-legend');
  D.nodes.forEach(function (n, idx) {
    var sw = document.createElement('i'); sw.className = 'sw'; sw.style.background = NODE_COLOR[idx % NODE_COLOR.length];
    legend.appendChild(sw); legend.appendChild(document.createTextNode(nodeName(idx)));
  });
  // Throughput: completed ok ops per leader per bucket.
  var bucket = Math.max(100000, Math.ceil(end / 150 / 100000) * 100000); // µs: about 150 buckets, at least 100 ms
  var nb = Math.ceil(end / bucket) + 1;
  var thr = D.nodes.map(function () { return new Float64Array(nb); });
  for (i = 0; i < N; i++) if (D.outcome[i] === 0) thr[D.node[i]][Math.floor(D.stop[i] / bucket)] += 1e6 / bucket;
  var maxThr = 1;
  thr.forEach(function (a) { for (var b = 0; b < a.length; b++) maxThr = Math.max(maxThr, a[b]); });
  var maxLat = 1;
  for (i = 0; i < N; i++) if (D.outcome[i] !== 3) maxLat = Math.max(maxLat, D.stop[i] - D.start[i]);

  function plotSetup(c) {
    var dpr = window.devicePixelRatio || 1, w = c.clientWidth || S.width, h = c.clientHeight || 220;
    c.width = Math.round(w * dpr); c.height = Math.round(h * dpr);
    var g = c.getContext('2d'); g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = '#fff'; g.fillRect(0, 0, w, h);
    return { g: g, w: w, h: h };
  }
  function plotAxes(p, labels) {
    var g = p.g;
    g.font = '11px system-ui, sans-serif'; g.strokeStyle = '#e3e7ee'; g.fillStyle = '#667085';
    labels.forEach(function (l) { g.beginPath(); g.moveTo(GUTTER, l.y); g.lineTo(p.w, l.y); g.stroke(); g.fillText(l.text, 4, l.y + 4); });
    var step = niceStep(S.t1 - S.t0, plotWidth());
    for (var t = Math.ceil(S.t0 / step) * step; t <= S.t1; t += step) g.fillText(fmtTime(t), X(t) + 2, p.h - 4);
  }
  function drawPlots() {
    // Latency, log scale from 0.1 ms to the largest.
    var p = plotSetup(latCanvas), g = p.g, top = 8, bottom = p.h - 18;
    var lmin = Math.log10(100), lmax = Math.log10(Math.max(maxLat, 1000)) + 0.05;
    function LY(us) { return bottom - (Math.log10(Math.max(us, 100)) - lmin) / (lmax - lmin) * (bottom - top); }
    drawBands(g, top, bottom - top, false);
    var labels = [];
    for (var e = 2; e <= lmax; e++) labels.push({ y: LY(Math.pow(10, e)), text: (Math.pow(10, e) / 1000) + ' ms' });
    plotAxes(p, labels);
    // The points go into a pixel buffer, composited over the bands in one step: painting 100,000
    // points costs about what painting a hundred would.
    var dpr = window.devicePixelRatio || 1, pw = Math.round(p.w * dpr), ph = Math.round(p.h * dpr);
    var img = g.createImageData(pw, ph), px32 = new Uint32Array(img.data.buffer);
    var size = Math.max(2, Math.round(2.5 * dpr)), left = Math.ceil(GUTTER * dpr);
    for (var k = 0; k < N; k++) {
      if (D.start[k] < S.t0 || D.start[k] > S.t1 || D.outcome[k] === 3) continue;
      var c32 = D.outcome[k] === 0 ? NODE_RGBA[D.node[k] % NODE_RGBA.length] : OUTCOME_RGBA[D.outcome[k]];
      var dx = Math.round((X(D.start[k]) - 1) * dpr), dy = Math.round((LY(D.stop[k] - D.start[k]) - 1) * dpr);
      for (var yy = Math.max(dy, 0); yy < dy + size && yy < ph; yy++) {
        for (var xx = Math.max(dx, left); xx < dx + size && xx < pw; xx++) px32[yy * pw + xx] = c32;
      }
    }
    if (!drawPlots.off) drawPlots.off = document.createElement('canvas');
    var off = drawPlots.off;
    off.width = pw; off.height = ph;
    off.getContext('2d').putImageData(img, 0, 0);
    g.save(); g.setTransform(1, 0, 0, 1, 0, 0); g.drawImage(off, 0, 0); g.restore();
    latCanvas.dataset.ready = '1';
    // Throughput.
    p = plotSetup(thrCanvas); g = p.g; top = 8; bottom = p.h - 18;
    function TY(v) { return bottom - v / maxThr * (bottom - top); }
    drawBands(g, top, bottom - top, false);
    labels = [];
    var tstep = niceStep(maxThr, (bottom - top) * 2.5);
    for (var v = 0; v <= maxThr; v += tstep) labels.push({ y: TY(v), text: v.toFixed(0) + '/s' });
    plotAxes(p, labels);
    g.save(); g.beginPath(); g.rect(GUTTER, 0, p.w - GUTTER, p.h); g.clip();
    thr.forEach(function (a, n) {
      g.strokeStyle = NODE_COLOR[n % NODE_COLOR.length]; g.lineWidth = 1.5; g.beginPath();
      for (var b = 0; b < a.length; b++) { var x = X((b + 0.5) * bucket); if (b === 0) g.moveTo(x, TY(a[b])); else g.lineTo(x, TY(a[b])); }
      g.stroke();
    });
    g.restore();
    thrCanvas.dataset.ready = '1';
  }

  window.addEventListener('resize', function () { resize(); redraw(); });
  resize();
  draw();
  drawPlots();
  // For tests and for poking at the page from the console.
  window.crossfire = { shortLabel: shortLabel, kinds: KINDS, data: D, state: S, rows: rows, opAt: opAt, select: select, redraw: redraw, byIndex: byIndex,
    drawNow: function () { draw(); drawPlots(); },
    pointOf: function (histIndex) {
      var op = byIndex.get(histIndex);
      if (op === undefined) return null;
      return { x: (Math.max(X(D.start[op]), GUTTER) + Math.min(Math.max(X(D.stop[op]), X(D.start[op]) + 1), S.width)) / 2,
        y: AXIS + rowOfLane[D.lane[op]] * LANE - S.y + LANE / 2 };
    } };
  document.body.dataset.ready = '1';
})();
