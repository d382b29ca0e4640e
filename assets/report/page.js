// The raftctl report page's script (inlined into every report, after uPlot): draws the charts of
// the embedded view-model (#report-data) with uPlot. Fault periods are coloured bands behind every
// time chart, moments (final heal, quiet period, violation, leader changes) vertical lines; the
// time charts share the cursor and zoom. When everything is drawn, <body data-rendered="ok">
// (data-rendered="error: ..." if something failed), so a headless browser can tell.
;(function () {
  'use strict'
  var BAND = {partition: '#ffd8a8', net: '#fff3bf', kill: '#ffc9c9', pause: '#c5dcf5', disk: '#e5dbff', crash: '#ff8787', member: '#c3fae8'}
  var MARK = {violation: '#d62728', 'final-heal': '#444444', quiet: '#2b8a3e', durability: '#c92a2a', 'read-back': '#5c940d', leader: '#7048e8'}
  var OP = {
    'get ok': '#1f77b4', 'put ok': '#2ca02c', 'cas ok': '#17becf',
    'get failed': '#ffbb78', 'put failed': '#ff7f0e', 'cas failed': '#e377c2',
    'get indeterminate': '#c5b0d5', 'put indeterminate': '#9467bd', 'cas indeterminate': '#8c564b',
  }
  var LANE = ['#69db7c', '#ffa94d', '#9775fa']
  var data = JSON.parse(document.getElementById('report-data').textContent)
  var body = document.body
  var charts = []
  var drawn = {bands: 0, marks: 0}

  function width() { return Math.max(600, Math.min(1600, document.documentElement.clientWidth - 60)) }
  function secs(u, vals) { return vals.map(function (v) { return v == null ? '' : (v / 1000).toFixed(v % 1000 === 0 ? 0 : 1) + ' s' }) }

  // Bands behind the plot (drawClear: before grid and series), marks over it (draw).
  function overlay(bands, marks, labels) {
    return {
      hooks: {
        drawClear: [function (u) {
          var ctx = u.ctx, top = u.bbox.top, h = u.bbox.height
          ctx.save()
          bands.forEach(function (b) {
            var x0 = u.valToPos(b.from, 'x', true), x1 = u.valToPos(b.to, 'x', true)
            var l = Math.max(u.bbox.left, Math.min(x0, x1)), r = Math.min(u.bbox.left + u.bbox.width, Math.max(x0, x1))
            if (r <= l) return
            ctx.fillStyle = BAND[b.kind] || '#eeeeee'
            ctx.fillRect(l, top, Math.max(1, r - l), h)
            drawn.bands++
          })
          ctx.restore()
        }],
        draw: [function (u) {
          var ctx = u.ctx, top = u.bbox.top, h = u.bbox.height, dpr = devicePixelRatio || 1
          ctx.save()
          ctx.font = Math.round(11 * dpr) + 'px system-ui, sans-serif'
          ctx.textAlign = 'left'
          ctx.textBaseline = 'alphabetic'
          if (labels) {
            ctx.fillStyle = '#7f2704'
            bands.forEach(function (b) {
              var x0 = u.valToPos(b.from, 'x', true), x1 = u.valToPos(b.to, 'x', true)
              if (x1 < u.bbox.left || x0 > u.bbox.left + u.bbox.width || x1 - x0 < 30 * dpr) return
              ctx.save()
              ctx.beginPath(); ctx.rect(x0, top, x1 - x0, h); ctx.clip()
              ctx.fillText(b.text, Math.max(x0, u.bbox.left) + 3 * dpr, top + 12 * dpr)
              ctx.restore()
            })
          }
          marks.forEach(function (m) {
            var x = u.valToPos(m.t, 'x', true)
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return
            ctx.strokeStyle = MARK[m.kind] || '#000'
            ctx.lineWidth = (m.kind === 'violation' ? 3 : 1.5) * dpr
            ctx.setLineDash(m.kind === 'violation' ? [] : [5 * dpr, 4 * dpr])
            ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + h); ctx.stroke()
            if (labels || m.kind === 'violation') {
              ctx.fillStyle = MARK[m.kind] || '#000'
              ctx.fillText(m.text, x + 4 * dpr, m.kind === 'quiet' ? top + h - 6 * dpr : top + 26 * dpr)
            }
            drawn.marks++
          })
          ctx.restore()
        }],
      },
    }
  }

  // Zoom on one time chart applies to all of them.
  var syncing = false
  function zoomSync() {
    return {hooks: {setScale: [function (u, key) {
      if (key !== 'x' || syncing) return
      syncing = true
      charts.forEach(function (c) { if (c !== u && c.timeChart) c.setScale('x', {min: u.scales.x.min, max: u.scales.x.max}) })
      syncing = false
    }]}}
  }

  function timeChart(el, opts, d, bands, marks, labels) {
    opts.width = width()
    opts.height = opts.height || 260
    opts.scales = opts.scales || {}
    opts.scales.x = Object.assign({time: false, min: 0, max: data.endMs}, opts.scales.x || {})
    opts.axes = opts.axes || [{}, {}]
    opts.axes[0] = Object.assign({values: secs}, opts.axes[0])
    // Same axis widths on every time chart, so their time axes line up.
    opts.axes[1] = Object.assign({size: 70}, opts.axes[1])
    if (!opts.axes[2]) opts.axes[2] = {side: 1, scale: opts.axes[1].scale || 'y', size: 50, grid: {show: false}, ticks: {show: false}, values: function () { return [] }}
    else opts.axes[2] = Object.assign({size: 50}, opts.axes[2])
    opts.cursor = Object.assign({sync: {key: 'run'}, drag: {x: true, y: false}}, opts.cursor || {})
    opts.plugins = [overlay(bands, marks, labels), zoomSync()].concat(opts.plugins || [])
    var u = new uPlot(opts, d, el)
    u.timeChart = true
    charts.push(u)
    return u
  }

  /** Aligns per-series (xs, ys) into uPlot's one-x-array form (nulls where a series has no point). */
  function align(series) {
    var all = []
    series.forEach(function (s, k) { for (var i = 0; i < s.xs.length; i++) all.push([s.xs[i], k, s.ys[i]]) })
    all.sort(function (a, b) { return a[0] - b[0] })
    var xs = new Array(all.length), cols = series.map(function () { return new Array(all.length).fill(null) })
    all.forEach(function (p, i) { xs[i] = p[0]; cols[p[1]][i] = Math.max(0.01, p[2]) })
    return [xs].concat(cols)
  }

  function points(color, size) {
    return {stroke: color, paths: function () { return null }, points: {show: true, size: size || 3, stroke: color, fill: color, width: 0}}
  }

  function check() {
    var bands = data.bands, marks = data.marks
    var lat = data.latency.series
    timeChart(document.getElementById('latency'), {
      height: 340,
      scales: {y: {distr: 3}},
      axes: [{}, {label: 'latency (ms)'}],
      series: [{label: 'time', value: function (u, v) { return v == null ? '' : (v / 1000).toFixed(3) + ' s' }}].concat(lat.map(function (s) {
        var name = s.op + ' ' + s.status
        return Object.assign({label: name + ' (' + s.total + ')', value: function (u, v) { return v == null ? '' : v + ' ms' }}, points(OP[name], s.status === 'ok' ? 2.5 : 4))
      })),
    }, align(lat), bands, marks, true)

    var t = data.throughput
    var tcol = ['#1f77b4', '#2ca02c', '#17becf', '#ff7f0e', '#9467bd']
    timeChart(document.getElementById('throughput'), {
      height: 220,
      axes: [{}, {label: 'ops/s'}],
      series: [{label: 'time'}].concat(t.series.map(function (s, i) { return {label: s.name, stroke: tcol[i % tcol.length], width: 1.5, paths: uPlot.paths.stepped({align: 1})} })),
    }, [t.xs].concat(t.series.map(function (s) { return s.ys })), bands, marks, false)

    var l = data.leader
    if (l.xs.length > 0) {
      timeChart(document.getElementById('leader'), {
        height: 200,
        scales: {node: {range: [0.5, Math.max(1, l.nodes) + 0.5]}, term: {}},
        axes: [{}, {scale: 'node', label: 'leader (node)', incrs: [1], values: function (u, v) { return v.map(function (x) { return Number.isInteger(x) ? x : '' }) }}, {scale: 'term', side: 1, label: 'term', grid: {show: false}}],
        series: [{label: 'time'},
          {label: 'leader', scale: 'node', stroke: '#7048e8', width: 2.5, paths: uPlot.paths.stepped({align: 1}), spanGaps: false},
          {label: 'term', scale: 'term', stroke: '#868e96', width: 1.5, paths: uPlot.paths.stepped({align: 1})}],
      }, [l.xs, l.leader, l.term], bands, marks, false)
    } else {
      document.getElementById('leader').textContent = 'No status samples in this history (recorded by raftctl check since reports exist).'
    }
    clients(bands, marks)
  }

  function clients(bands, marks) {
    var c = data.clients, lanes = c.lanes, tip = document.createElement('div')
    tip.className = 'tooltip'
    body.appendChild(tip)
    var n = Math.max(1, lanes.length)
    var u = timeChart(document.getElementById('clients'), {
      height: Math.min(900, 60 + n * 26),
      scales: {y: {range: [-0.5, n - 0.5]}},
      axes: [{}, {label: 'client', incrs: [1], values: function (u, v) { return v.map(function (x) { return Number.isInteger(x) && x >= 0 && x < n ? 'c' + lanes[x].client : '' }) }}],
      legend: {show: false},
      series: [{}, {label: 'lanes', stroke: 'transparent', points: {show: false}}],
      plugins: [{hooks: {draw: [function (u) {
        var ctx = u.ctx, dpr = devicePixelRatio || 1
        ctx.save()
        ctx.beginPath(); ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height); ctx.clip()
        var min = u.scales.x.min, max = u.scales.x.max
        lanes.forEach(function (lane, i) {
          var y0 = u.valToPos(i + 0.35, 'y', true), y1 = u.valToPos(i - 0.35, 'y', true)
          var s = lane.segs
          for (var k = 0; k < s.length; k += 5) {
            if (s[k + 1] < min || s[k] > max) continue
            var x0 = u.valToPos(s[k], 'x', true), x1 = s[k + 2] === 2 ? u.bbox.left + u.bbox.width : u.valToPos(s[k + 1], 'x', true)
            ctx.fillStyle = LANE[s[k + 2]]
            ctx.globalAlpha = s[k + 2] === 2 ? 0.35 : 0.9
            ctx.fillRect(x0, y0, Math.max(1 * dpr, (s[k + 2] === 2 ? u.valToPos(s[k + 1], 'x', true) : x1) - x0), y1 - y0)
            if (s[k + 2] === 2) { ctx.globalAlpha = 0.12; ctx.fillRect(x0, y0, x1 - x0, y1 - y0) }
          }
        })
        ctx.restore()
      }], setCursor: [function (u) {
        var left = u.cursor.left, top = u.cursor.top
        if (left == null || left < 0) { tip.style.display = 'none'; return }
        var t = u.posToVal(left, 'x'), lane = Math.round(u.posToVal(top, 'y')), text = null
        var L = lanes[lane]
        if (L) {
          var s = L.segs, slack = (u.scales.x.max - u.scales.x.min) / 400
          for (var k = 0; k < s.length; k += 5) {
            if (t >= s[k] - slack && t <= s[k + 1] + slack) {
              text = s[k + 4] >= 0 ? c.details[s[k + 4]] : 'c' + L.client + ': ' + s[k + 3] + ' op(s) ' + ['ok', 'failed', 'indeterminate'][s[k + 2]] + ' ' + (s[k] / 1000).toFixed(3) + '–' + (s[k + 1] / 1000).toFixed(3) + ' s'
              break
            }
          }
        }
        if (!text) { tip.style.display = 'none'; return }
        var r = u.over.getBoundingClientRect()
        tip.textContent = text
        tip.style.display = 'block'
        tip.style.left = (r.left + left + 12) + 'px'
        tip.style.top = (r.top + top + 12) + 'px'
      }]}}],
    }, [[0, data.endMs], [null, null]], bands, marks, false)
    return u
  }

  function bench() {
    var h = data.histogram, tl = data.timeline, marks = data.marks
    var hu = new uPlot({
      width: width(), height: 260,
      scales: {x: {time: false, distr: 3}, y: {}},
      axes: [{label: 'latency (ms)'}, {label: 'operations'}],
      series: [{label: 'latency ≥', value: function (u, v) { return v == null ? '' : v + ' ms' }}, {label: 'operations', stroke: '#1f77b4', fill: '#1f77b455', paths: uPlot.paths.bars({size: [0.9, 40], align: 1})}],
    }, [h.xs.length ? h.xs : [1], h.counts.length ? h.counts : [0]], document.getElementById('histogram'))
    charts.push(hu)
    timeChart(document.getElementById('bthroughput'), {
      height: 240,
      axes: [{}, {label: 'ops/s'}],
      series: [{label: 'time'}, {label: 'ok ops/s', stroke: '#1f77b4', width: 1.5, paths: uPlot.paths.stepped({align: 1})}, {label: 'errors/s', stroke: '#d62728', width: 1.5, paths: uPlot.paths.stepped({align: 1})}],
    }, [tl.xs, tl.ops, tl.errors], [], marks, true)
    timeChart(document.getElementById('blatency'), {
      height: 260,
      scales: {y: {distr: 3}},
      axes: [{}, {label: 'latency (ms)'}],
      series: [{label: 'time'}, {label: 'p50', stroke: '#2ca02c', width: 1.5}, {label: 'p99', stroke: '#ff7f0e', width: 1.5}, {label: 'max', stroke: '#d62728', width: 1}],
    }, [tl.xs, tl.p50, tl.p99, tl.max], [], marks, false)
  }

  try {
    if (data.kind === 'check') check()
    else bench()
    // uPlot draws in a microtask after construction; flag the page once that has happened.
    Promise.resolve().then(function () {
      body.dataset.charts = String(charts.length)
      body.dataset.bandsDrawn = String(drawn.bands)
      body.dataset.marksDrawn = String(drawn.marks)
      body.dataset.rendered = 'ok'
    })
  } catch (err) {
    body.dataset.rendered = 'error: ' + (err && err.message)
    throw err
  }
})()
