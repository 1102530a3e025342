// ip6m: the events page's live list. New events arrive over a websocket in
// batches; the list keeps the newest 500.
(function () {
  "use strict";
  var list = document.getElementById("events");
  if (!list) return;
  var state = document.getElementById("live-state");
  var skippedNote = document.getElementById("events-skipped");
  var empty = document.getElementById("events-empty");
  var keep = 500, skippedTotal = 0, retry = 1000;

  function badge(stateName, text) {
    var b = document.createElement("span");
    b.className = "badge " + ({ good: "good", warning: "warn", warn: "warn", bad: "bad" }[stateName] || "off");
    b.textContent = text;
    return b;
  }

  function item(e) {
    var li = document.createElement("li");
    li.setAttribute("data-kind", e.kind);
    li.className = "new";
    var when = document.createElement("span");
    when.className = "when";
    when.title = e.at;
    when.textContent = e.time;
    li.appendChild(when);
    li.appendChild(document.createTextNode(" "));
    li.appendChild(badge(e.state, e.label));
    if (e.cmts) {
      var c = document.createElement("span");
      c.className = "muted";
      c.textContent = " " + e.cmts;
      li.appendChild(c);
    }
    if (e.modem) {
      li.appendChild(document.createTextNode(" "));
      var a = document.createElement("a");
      a.className = "mono";
      a.href = "/search?q=" + encodeURIComponent(e.modem);
      a.textContent = e.modem;
      li.appendChild(a);
    }
    li.appendChild(document.createTextNode(" " + e.text));
    return li;
  }

  function connect() {
    var proto = location.protocol === "https:" ? "wss:" : "ws:";
    var ws = new WebSocket(proto + "//" + location.host + list.getAttribute("data-stream"));
    ws.onopen = function () { retry = 1000; if (state) state.textContent = "live"; };
    ws.onmessage = function (m) {
      var msg = JSON.parse(m.data);
      if (empty) { empty.remove(); empty = null; }
      (msg.events || []).forEach(function (e) { list.insertBefore(item(e), list.firstChild); });
      while (list.children.length > keep) list.removeChild(list.lastChild);
      if (msg.skipped) {
        skippedTotal += msg.skipped;
        skippedNote.hidden = false;
        skippedNote.textContent = skippedTotal + " events were not shown to keep up (a storm): filter by CMTS or kind to see them all.";
      }
    };
    ws.onclose = function () {
      if (state) state.textContent = "reconnecting…";
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }
  connect();
})();
