// Merchant dashboard: live updates (polls /api/v1/changes every 2 s), charts on <canvas>, replay buttons.
// Event data is only ever written with textContent / createElement, never innerHTML.
(function () {
  "use strict";

  var POLL_MS = 2000;
  var KPI_MIN_MS = 15000;  // KPIs cost ~20 Queries: refresh at most every 15 s
  var body = document.body;
  var base = body.getAttribute("data-base") || "";
  var page = body.getAttribute("data-page");
  var since = body.getAttribute("data-since");
  var seen = {};
  var COLORS = {
    CREATED: "#818cf8", PROCESSING: "#6366f1", READY_TO_SHIP: "#4f46e5", PICKED_UP: "#60a5fa",
    IN_TRANSIT: "#2563eb", OUT_FOR_DELIVERY: "#06b6d4", AVAILABLE_FOR_PICKUP: "#0891b2",
    DELIVERY_ATTEMPTED: "#f59e0b", RETURNING: "#a78bfa", DELIVERED: "#16a34a", RETURNED: "#7c3aed",
    CANCELLED: "#9ca3af", LOST: "#b91c1c", EXCEPTION: "#ef4444", EXPIRED: "#6b7280"
  };
  var STATUSES = Object.keys(COLORS);

  function pageData() {
    var node = document.getElementById("page-data");
    if (!node) { return {}; }
    try { return JSON.parse(node.textContent); } catch (e) { return {}; }
  }
  var data = pageData();

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (attrs[k] !== null && attrs[k] !== undefined && attrs[k] !== false) { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) { return; }
      node.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
    });
    return node;
  }

  function label(status) {
    if (!status) { return "Unknown"; }
    var s = String(status).replace(/_/g, " ").toLowerCase();
    return s.charAt(0).toUpperCase() + s.slice(1);
  }

  function pill(status) {
    var known = STATUSES.indexOf(status) >= 0;
    return el("span", {"class": "pill status-" + (known ? status.toLowerCase() : "unknown"), "data-status": status},
      [label(status)]);
  }

  function shortTime(utc) {
    return utc && utc.length >= 16 ? utc.slice(0, 16).replace("T", " ") + " UTC" : (utc || "");
  }

  function shipmentLink(id) {
    return el("a", {href: base + "/shipments/" + encodeURIComponent(id)}, [id]);
  }

  // -- rows ------------------------------------------------------------------------------------
  var CELLS = {
    shipment_id: function (s) {
      var td = el("td", {"data-col": "shipment_id"}, [shipmentLink(s.shipment_id)]);
      if (s.needs_attention) { td.appendChild(el("span", {"class": "flag", title: s.attention_reason || ""}, ["!"])); }
      return td;
    },
    status: function (s) {
      var td = el("td", {"data-col": "status"}, [pill(s.status)]);
      if (s.sub_status) { td.appendChild(el("span", {"class": "sub"}, [s.sub_status])); }
      return td;
    },
    carrier: function (s) { return el("td", {"data-col": "carrier"}, [s.carrier || ""]); },
    tracking_number: function (s) { return el("td", {"data-col": "tracking_number"}, [s.tracking_number || ""]); },
    order_ref: function (s) { return el("td", {"data-col": "order_ref"}, [s.order_ref || ""]); },
    where: function (s) { return el("td", {"data-col": "where"}, [[s.city, s.country].filter(Boolean).join(", ")]); },
    eta: function (s) { return el("td", {"data-col": "eta", "class": "nowrap"}, [(s.eta && s.eta.date) || ""]); },
    updated_at: function (s) { return el("td", {"data-col": "updated_at", "class": "nowrap"}, [shortTime(s.updated_at)]); }
  };

  // A row with the columns the table declares (same cells as the server renders).
  function shipmentRow(table, s) {
    var columns = (table.getAttribute("data-columns") || "").split(",");
    return el("tr", {"data-shipment-id": s.shipment_id, "class": "fresh"},
      columns.filter(function (c) { return CELLS[c]; }).map(function (c) { return CELLS[c](s); }));
  }

  function findRow(tbody, id) {
    var rows = tbody.querySelectorAll("tr[data-shipment-id]");
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].getAttribute("data-shipment-id") === id) { return rows[i]; }
    }
    return null;
  }

  // Replace a shipment's row (or put it on top when ``insert``), keeping at most ``max`` rows.
  function upsert(tableId, s, insert, max) {
    var table = document.getElementById(tableId);
    if (!table) { return; }
    var tbody = table.tBodies[0];
    var old = findRow(tbody, s.shipment_id);
    if (old) {
      if (insert) { tbody.removeChild(old); tbody.insertBefore(shipmentRow(table, s), tbody.firstChild); }
      else { tbody.replaceChild(shipmentRow(table, s), old); }
    } else if (insert) {
      tbody.insertBefore(shipmentRow(table, s), tbody.firstChild);
      var empty = document.getElementById("empty");
      if (empty) { empty.parentNode.removeChild(empty); }
    }
    while (max && tbody.rows.length > max) { tbody.deleteRow(tbody.rows.length - 1); }
  }

  // -- charts ----------------------------------------------------------------------------------
  function canvas2d(id) {
    var c = document.getElementById(id);
    if (!c || !c.getContext) { return null; }
    var ratio = window.devicePixelRatio || 1;
    var w = c.clientWidth || 420;
    var h = c.clientHeight || 220;
    c.width = Math.round(w * ratio);
    c.height = Math.round(h * ratio);
    var ctx = c.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, w, h);
    ctx.font = "12px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    c.setAttribute("data-drawn", "1");
    return {ctx: ctx, w: w, h: h};
  }

  // The top of a 4-step axis whose steps are 1, 2 or 5 times a power of ten.
  function niceMax(v) {
    var raw = Math.max(v, 4) / 4;
    var p = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) { if (steps[i] * p >= raw) { return 4 * steps[i] * p; } }
    return 40 * p;
  }

  function empty(g, text) {
    g.ctx.fillStyle = "#98a2b3";
    g.ctx.textAlign = "center";
    g.ctx.fillText(text, g.w / 2, g.h / 2);
  }

  // Horizontal bars: one row per status with a count.
  function drawStatus(counts) {
    var g = canvas2d("chart-status");
    if (!g) { return; }
    var rows = STATUSES.filter(function (s) { return counts[s] > 0; })
      .map(function (s) { return [s, counts[s]]; });
    if (!rows.length) { empty(g, "No shipments yet"); return; }
    var left = 132, right = 44, top = 6;
    var rowH = Math.min(24, (g.h - top * 2) / rows.length);
    var max = Math.max.apply(null, rows.map(function (r) { return r[1]; }));
    rows.forEach(function (r, i) {
      var y = top + i * rowH;
      var w = Math.max(2, (g.w - left - right) * r[1] / max);
      g.ctx.fillStyle = "#475467";
      g.ctx.textAlign = "right";
      g.ctx.fillText(label(r[0]), left - 8, y + rowH / 2);
      g.ctx.fillStyle = COLORS[r[0]];
      g.ctx.fillRect(left, y + 3, w, rowH - 6);
      g.ctx.fillStyle = "#1b2433";
      g.ctx.textAlign = "left";
      g.ctx.fillText(String(r[1]), left + w + 6, y + rowH / 2);
    });
  }

  function axes(g, left, bottom, max) {
    var ctx = g.ctx;
    ctx.strokeStyle = "#e4e8ef";
    ctx.fillStyle = "#667085";
    ctx.textAlign = "right";
    for (var i = 0; i <= 4; i++) {
      var y = g.h - bottom - (g.h - bottom - 10) * i / 4;
      ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(g.w - 8, y); ctx.stroke();
      ctx.fillText(String(max * i / 4), left - 6, y);
    }
  }

  // Vertical bars over time buckets.
  function drawThroughput(tp) {
    var g = canvas2d("chart-throughput");
    if (!g) { return; }
    var series = (tp && tp.series) || [];
    if (!series.length) { empty(g, "No updates in the sample"); return; }
    var left = 40, bottom = 34;
    var max = niceMax(Math.max.apply(null, series.map(function (p) { return p.n; })));
    axes(g, left, bottom, max);
    var slot = (g.w - left - 12) / series.length;
    var every = Math.ceil(series.length / Math.max(1, Math.floor((g.w - left) / 84)));
    series.forEach(function (p, i) {
      var x = left + 4 + i * slot;
      var hgt = (g.h - bottom - 10) * p.n / max;
      g.ctx.fillStyle = "#2563eb";
      g.ctx.fillRect(x, g.h - bottom - hgt, Math.max(1, slot - 3), hgt);
      if (i % every === 0) {
        g.ctx.fillStyle = "#667085";
        g.ctx.textAlign = "left";
        g.ctx.fillText(p.t.slice(5, 16).replace("T", " "), x, g.h - bottom + 14);
      }
    });
    g.ctx.fillStyle = "#98a2b3";
    g.ctx.textAlign = "right";
    var size = tp.bucket_minutes >= 60 ? (tp.bucket_minutes / 60) + " h" : tp.bucket_minutes + " min";
    g.ctx.fillText("updates per " + size, g.w - 8, 6);
  }

  // Grouped bars per region: late and exceptions.
  function drawDelays(rows) {
    var g = canvas2d("chart-delays");
    if (!g) { return; }
    if (!rows || !rows.length) { empty(g, "No shipments in the sample"); return; }
    var left = 40, bottom = 34;
    var max = niceMax(Math.max.apply(null, rows.map(function (r) { return Math.max(r.late || 0, r.exceptions || 0); })));
    axes(g, left, bottom, max);
    var slot = (g.w - left - 12) / rows.length;
    var bar = Math.min(26, slot / 3);
    rows.forEach(function (r, i) {
      var x = left + 6 + i * slot + slot / 2 - bar;
      [["late", "#f59e0b"], ["exceptions", "#ef4444"]].forEach(function (k, j) {
        var hgt = (g.h - bottom - 10) * (r[k[0]] || 0) / max;
        g.ctx.fillStyle = k[1];
        g.ctx.fillRect(x + j * bar, g.h - bottom - hgt, bar - 2, hgt);
      });
      g.ctx.fillStyle = "#475467";
      g.ctx.textAlign = "center";
      g.ctx.fillText(r.geo, x + bar, g.h - bottom + 14);
    });
    [["late", "#f59e0b"], ["exceptions", "#ef4444"]].forEach(function (k, j) {
      var x = g.w - 150 + j * 70;
      g.ctx.fillStyle = k[1];
      g.ctx.fillRect(x, 6, 10, 10);
      g.ctx.fillStyle = "#475467";
      g.ctx.textAlign = "left";
      g.ctx.fillText(k[0], x + 14, 11);
    });
  }

  var kpiState = data.kpis || null;
  var firstRender = true;

  function setTile(id, value) {
    var node = document.getElementById(id);
    if (!node) { return; }
    var text = value === null || value === undefined ? "—" : String(value);
    if (node.textContent !== text) {
      node.textContent = text;
      if (firstRender) { return; }
      node.parentNode.classList.remove("flash");
      void node.parentNode.offsetWidth;
      node.parentNode.classList.add("flash");
    }
  }

  function renderKpis(k) {
    var counts = k.counts.by_status;
    var terminal = ["DELIVERED", "RETURNED", "CANCELLED", "LOST"];
    var active = Object.keys(counts).reduce(function (a, s) { return a + (terminal.indexOf(s) < 0 ? counts[s] : 0); }, 0);
    setTile("kpi-total", k.counts.total);
    setTile("kpi-active", active);
    setTile("kpi-delivered", counts.DELIVERED || 0);
    setTile("kpi-exceptions", k.exceptions.current);
    setTile("kpi-attention", k.needs_attention.count);
    setTile("kpi-ontime", k.on_time.rate === null ? null : Math.round(k.on_time.rate * 100) + "%");
    setTile("kpi-transit", k.transit.avg_hours === null ? null : k.transit.avg_hours.toFixed(1) + " h");
    setTile("kpi-rate", k.events_per_minute.rate);
    drawStatus(counts);
    drawThroughput(k.throughput);
    drawDelays(k.delays_by_region);
    kpiState = k;
    firstRender = false;
    body.setAttribute("data-charts", "drawn");
  }

  // -- live updates ------------------------------------------------------------------------------
  var lastKpi = 0;
  var kpiTimer = null;

  function getJson(path) {
    return fetch(base + path, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) {
        if (r.status === 401) { throw new Error("unauthorized"); }
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      });
  }

  function refreshKpis() {
    var wait = lastKpi + KPI_MIN_MS - Date.now();
    if (wait > 0) {
      if (!kpiTimer) { kpiTimer = setTimeout(function () { kpiTimer = null; refreshKpis(); }, wait); }
      return;
    }
    lastKpi = Date.now();
    getJson("/api/v1/kpis").then(renderKpis).catch(function () {});
  }

  function refreshDetail(id) {
    getJson("/api/v1/shipments/" + encodeURIComponent(id)).then(function (d) {
      var s = d.shipment;
      var holder = document.getElementById("detail-status");
      if (holder) { holder.textContent = ""; holder.appendChild(pill(s.status)); }
      var sub = document.getElementById("detail-sub");
      if (sub) { sub.textContent = s.sub_status || ""; }
      var table = document.getElementById("timeline");
      if (!table) { return; }
      var tbody = table.tBodies[0];
      while (tbody.firstChild) { tbody.removeChild(tbody.firstChild); }
      d.timeline.forEach(function (e) {
        var loc = e.location || {};
        var where = [loc.city, loc.country].filter(Boolean).join(", ");
        if (e.warehouse_id) { where = where ? where + " · " + e.warehouse_id : e.warehouse_id; }
        var ev = el("td", {}, [e.event_type || ""]);
        if (e.sub_status) { ev.appendChild(el("span", {"class": "sub"}, [e.sub_status])); }
        var disp = el("td", {}, [el("span", {"class": "badge"}, [e.disposition || ""])]);
        if (e.correction_of) { disp.appendChild(el("span", {"class": "sub"}, ["corrects " + e.correction_of])); }
        var cls = /^[a-z]+$/.test(e.disposition || "") ? "disp-" + e.disposition : null;
        tbody.appendChild(el("tr", {"class": cls}, [
          el("td", {}, [shortTime(e.at)]),
          el("td", {}, [el("span", {"class": "kind kind-" + (e.kind === "warehouse" ? "w" : "c")}, [e.kind])]),
          ev, el("td", {}, [e.status ? pill(e.status) : ""]), el("td", {}, [where]), disp
        ]));
      });
    }).catch(function () {});
  }

  function apply(items) {
    if (!items.length) { return; }
    items.forEach(function (s) {
      var key = s.shipment_id + "|" + s.updated_key;
      if (seen[key]) { return; }
      seen[key] = true;
      if (page === "overview") {
        upsert("recent", s, true, 12);
      } else if (page === "shipments") {
        upsert("shipments", s, !!data.live_insert, 200);
      } else if (page === "attention") {
        upsert("attention", s, s.needs_attention, 100);
      } else if (page === "detail" && s.shipment_id === data.shipment_id) {
        refreshDetail(s.shipment_id);
      }
    });
    if (page === "overview") { refreshKpis(); }
  }

  function stamp(ok) {
    var live = document.getElementById("live");
    var t = document.getElementById("last-updated");
    if (t && ok) {
      var now = new Date();
      t.textContent = now.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit", second: "2-digit"});
      t.setAttribute("datetime", now.toISOString());
    }
    if (live) { live.classList.toggle("stale", !ok); }
  }

  function poll() {
    var path = "/api/v1/changes" + (since ? "?since=" + encodeURIComponent(since) : "");
    getJson(path).then(function (r) {
      since = r.next_since || since;
      apply(r.items || []);
      stamp(true);
      setTimeout(poll, r.has_more ? 200 : POLL_MS);
    }).catch(function (err) {
      stamp(false);
      if (String(err && err.message) === "unauthorized") {
        var t = document.getElementById("last-updated");
        if (t) { t.textContent = "session expired, reload to sign in"; }
        return;
      }
      setTimeout(poll, POLL_MS * 2);
    });
  }

  // -- dead-letter replay ------------------------------------------------------------------------
  function wireReplay() {
    var buttons = document.querySelectorAll("button.replay");
    Array.prototype.forEach.call(buttons, function (button) {
      button.addEventListener("click", function () {
        var key = button.getAttribute("data-dlq-key");
        var row = button.closest("tr");
        var state = row && row.querySelector("[data-col=state] .badge");
        button.disabled = true;
        fetch(base + "/api/v1/dead-letters/" + encodeURIComponent(key) + "/replay", {
          method: "POST", credentials: "same-origin",
          headers: {"X-Requested-With": "dashboard", "Content-Type": "application/json", "Accept": "application/json"},
          body: "{}"
        }).then(function (r) {
          return r.json().then(function (b) { return {ok: r.ok, body: b}; });
        }).then(function (res) {
          if (state) { state.textContent = res.ok ? res.body.state : "error: " + res.body.error.message; }
          if (!res.ok) { button.disabled = false; }
        }).catch(function () { button.disabled = false; });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (data.kpis) { renderKpis(data.kpis); }
    if (page === "dead-letters") { wireReplay(); }
    if (["overview", "shipments", "detail", "attention"].indexOf(page) >= 0) { poll(); }
    else if (["warehouses", "dead-letters", "lanes", "at-risk"].indexOf(page) >= 0) { stamp(true); }
  });
  window.addEventListener("resize", function () { if (kpiState) { renderKpis(kpiState); } });
})();
