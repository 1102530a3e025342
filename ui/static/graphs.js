// ip6m: the modem page's signal graphs (uPlot), with the good/warning
// bands of each metric drawn behind the line.
(function () {
  "use strict";
  var box = document.getElementById("graphs");
  if (!box || typeof uPlot === "undefined") return;
  var plots = [];
  var byMetric = {}; // metric → {plot, data}
  var live = null;
  var colours = { good: "rgba(27,127,59,0.10)", warn: "rgba(138,90,0,0.10)" };

  function bandsPlugin(band) {
    return {
      hooks: {
        drawClear: function (u) {
          if (!band) return;
          var ctx = u.ctx, y = u.scales.y, top = u.bbox.top, h = u.bbox.height;
          function fill(lo, hi, colour) {
            var a = lo == null ? y.min : lo, b = hi == null ? y.max : hi;
            var y0 = u.valToPos(Math.min(b, y.max), "y", true), y1 = u.valToPos(Math.max(a, y.min), "y", true);
            if (y1 <= y0) return;
            ctx.fillStyle = colour;
            ctx.fillRect(u.bbox.left, Math.max(y0, top), u.bbox.width, Math.min(y1, top + h) - Math.max(y0, top));
          }
          fill(band.WarnMin, band.WarnMax, colours.warn);
          fill(band.GoodMin, band.GoodMax, colours.good);
        }
      }
    };
  }

  function draw(range, series) {
    plots.forEach(function (p) { p.destroy(); });
    plots = [];
    byMetric = {};
    box.textContent = "";
    if (!series.length) {
      var p = document.createElement("p");
      p.className = "empty";
      box.setAttribute("data-drawn", range);
      p.textContent = "No samples yet: the poller has not reached this modem (ip6m serve --poll), or it does not answer SNMP.";
      box.appendChild(p);
      return;
    }
    series.forEach(function (s) {
      var fig = document.createElement("figure");
      fig.className = "graph";
      fig.setAttribute("data-metric", s.metric);
      box.appendChild(fig);
      var width = Math.max(280, Math.min(640, box.clientWidth / 2 - 16));
      var opts = {
        title: s.title + " (" + s.unit + ")",
        width: width,
        height: 180,
        plugins: [bandsPlugin(s.band)],
        scales: { x: { time: true } },
        axes: [{}, { label: s.unit }],
        series: [
          {},
          { label: "min", stroke: "#9aa5b5", width: 1 },
          { label: "avg", stroke: "#1f5fbf", width: 2 },
          { label: "max", stroke: "#9aa5b5", width: 1 }
        ]
      };
      var data = [s.t, s.min, s.avg, s.max];
      var plot = new uPlot(opts, data, fig);
      plots.push(plot);
      byMetric[s.metric] = { plot: plot, data: data, fig: fig, points: s.t.length };
      fig.setAttribute("data-points", String(s.t.length));
    });
    box.setAttribute("data-drawn", range); // for tests and for anyone waiting on a range
  }

  // Live mode: new samples arrive over a websocket and are appended to
  // their graph (the history came over HTTP first).
  function connect() {
    if (live || !window.WebSocket || !box.getAttribute("data-live")) return;
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + box.getAttribute("data-live");
    live = new WebSocket(url);
    live.onmessage = function (ev) {
      var pts;
      try { pts = JSON.parse(ev.data); } catch (e) { return; }
      pts.forEach(function (p) {
        var g = byMetric[p.metric];
        if (!g) return;
        g.data[0].push(p.t);
        g.data[1].push(p.value);
        g.data[2].push(p.value);
        g.data[3].push(p.value);
        g.plot.setData(g.data);
        g.points++;
        g.fig.setAttribute("data-points", String(g.points));
      });
    };
    live.onclose = function () {
      live = null;
      setTimeout(connect, 5000); // the server dropped us (slow, or restarting): try again
    };
  }

  function load(range) {
    fetch(box.getAttribute("data-src") + "?range=" + encodeURIComponent(range), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (series) { draw(range, series); connect(); })
      .catch(function (e) { box.textContent = "Could not load the graphs: " + e; });
    document.querySelectorAll("[data-range]").forEach(function (b) {
      b.setAttribute("aria-pressed", b.getAttribute("data-range") === range ? "true" : "false");
    });
  }

  document.querySelectorAll("[data-range]").forEach(function (b) {
    b.addEventListener("click", function () { load(b.getAttribute("data-range")); });
  });
  load("day");
})();
