/// The live dashboard at `/`: one static page, no external script. It polls `/v1/stats` (and the
/// latency histogram on `/metrics`) every second, plots the last five minutes (outcomes published
/// and delivered per second, open connections, publish-to-deliver p50/p99) from those samples, explains each tile, inspects one key through `/v1/keys/{key}`,
/// shows the webhook totals, and links the dev engine's monitoring page when the hub runs one.
enum Dashboard {
    static let html = """
    <!doctype html>
    <html lang="en"><head><meta charset="utf-8"><title>AffinityHub</title>
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <style>
     body{font:15px system-ui,sans-serif;margin:2rem;color:#222;background:#fafafa}
     h1{font-size:1.3rem} h2{font-size:1rem;margin:1.2rem 0 .6rem}
     .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(11rem,1fr));gap:.8rem}
     .card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.7rem}
     .n{font-size:1.6rem;font-variant-numeric:tabular-nums} .l{color:#666;font-size:.8rem} .why{color:#888;font-size:.72rem;margin-top:.2rem}
     .plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(20rem,1fr));gap:.8rem}
     .plot svg{width:100%;height:120px;display:block} .plot .axis{stroke:#ddd} .plot polyline{fill:none;stroke-width:2}
     .plot .now{font-size:1.1rem;font-variant-numeric:tabular-nums}
     #status{color:#666;font-size:.8rem;margin-top:1rem} #engine{font-size:.9rem;font-weight:normal;color:#1a73e8}
     #inspector input{font:inherit;padding:.3rem .5rem;width:18rem} #inspector button{font:inherit;padding:.3rem .8rem}
     #inspector table{border-collapse:collapse;margin-top:.6rem;background:#fff} #inspector td,#inspector th{padding:.2rem .6rem;border-bottom:1px solid #eee;text-align:left;font-size:.85rem}
     #inspection{font-size:.9rem;margin-top:.5rem}
    </style></head>
    <body><h1>AffinityHub <a id="engine" href="/dev-engine" hidden>· dev engine: processes and instances</a></h1>
    <div class="plots" id="plots"></div>
    <h2>Now</h2><div class="grid" id="grid"></div>
    <h2>Outcome webhooks</h2><div class="grid" id="webhooks"></div>
    <h2>Inspect a key</h2>
    <form id="inspector"><input id="key" placeholder="order-42" autocomplete="off" aria-label="key"> <button>Inspect</button>
    <div id="inspection"></div></form>
    <div id="status">connecting…</div>
    <script type="module">
    const tiles = {
      connections: ["TCP connections", "open sockets: subscribers, publishers, long-polls"],
      websockets: ["WebSockets", "open WebSocket connections (one may follow many keys)"],
      subscriptions: ["subscriptions", "(connection, key) pairs waiting for outcomes"],
      keys: ["keys", "keys with retained outcomes or subscribers"],
      retainedOutcomes: ["retained outcomes", "kept for late subscribers until --retention ends"],
      retainedBytes: ["retained bytes", "memory held by retained outcomes (bounded by --max-retained-bytes)"],
      published: ["published", "outcomes accepted since start"],
      delivered: ["delivered", "outcome messages sent to subscribers (one outcome, many subscribers)"],
      duplicates: ["idempotent repeats", "publishes that repeated an idempotency key: answered, not stored again"],
      expired: ["expired", "outcomes dropped when their retention ended"],
      released: ["released early", "keys freed before retention: last outcome terminal and acked by every subscriber"],
      rejected: ["rejected", "publishes refused by a limit (429 / 507)"],
      bytesIn: ["bytes in", "received on all connections"],
      bytesOut: ["bytes out", "sent on all connections"],
    };
    const plots = [
      {id: "rates", title: "outcomes per second", series: [["published", "#1a73e8", "published"], ["delivered", "#137333", "delivered"]], rate: true},
      {id: "conns", title: "open connections", series: [["connections", "#a142f4", "TCP"], ["websockets", "#e37400", "WebSocket"]], rate: false},
      {id: "latency", title: "publish → deliver, ms (each second's p50 and p99)", series: [["p50", "#1a73e8", "p50"], ["p99", "#d93025", "p99"]], rate: false},
    ];
    // Percentiles of the last second from the Prometheus histogram on /metrics: bucket counts now
    // minus a second ago, then the bucket where the quantile falls (its upper bound, in ms).
    let lastBuckets = null;
    async function latency() {
      try {
        const text = await (await fetch("/metrics", {cache: "no-store"})).text();
        const buckets = [];
        for (const m of text.matchAll(/^affinity_publish_to_deliver_seconds_bucket\\{le="([^"]+)"\\} (\\S+)$/gm)) {
          buckets.push([m[1] === "+Inf" ? Infinity : Number(m[1]) * 1000, Number(m[2])]);
        }
        const previous = lastBuckets; lastBuckets = buckets;
        if (!previous || previous.length !== buckets.length) return {p50: 0, p99: 0};
        const delta = buckets.map(([le, n], i) => [le, n - previous[i][1]]);
        const total = delta.at(-1)[1];
        const q = f => { if (total <= 0) return 0; const want = total * f; const hit = delta.find(([, n]) => n >= want); return hit && isFinite(hit[0]) ? hit[0] : delta.at(-2)[0]; };
        return {p50: q(0.5), p99: q(0.99)};
      } catch (e) { return {p50: 0, p99: 0}; }
    }
    const samples = [];  // {t, stats}, one per second, the last five minutes
    const $ = id => document.getElementById(id);
    function card(parent, id, label, why) {
      const c = document.createElement("div"); c.className = "card"; c.title = why || "";
      c.innerHTML = `<div class="n" id="${id}">–</div><div class="l"></div>` + (why ? `<div class="why"></div>` : "");
      c.querySelector(".l").textContent = label; if (why) c.querySelector(".why").textContent = why;
      parent.append(c);
    }
    for (const [k, [label, why]] of Object.entries(tiles)) card($("grid"), "v-" + k, label, why);
    for (const p of plots) {
      const c = document.createElement("div"); c.className = "card plot"; c.id = "plot-" + p.id;
      c.innerHTML = `<div class="l"></div><div class="now"></div><svg viewBox="0 0 300 100" preserveAspectRatio="none"><line class="axis" x1="0" y1="99" x2="300" y2="99"/></svg>`;
      c.querySelector(".l").textContent = p.title + " · last 5 minutes";
      for (const [key, color] of p.series) {
        const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
        line.setAttribute("stroke", color); line.dataset.series = key; c.querySelector("svg").append(line);
      }
      $("plots").append(c);
    }
    function draw() {
      for (const p of plots) {
        const values = p.series.map(([key]) => samples.map((s, i) => {
          if (!p.rate) return s.stats[key] ?? 0;
          if (i === 0) return 0;
          const prev = samples[i - 1], dt = (s.t - prev.t) / 1000;
          return dt > 0 ? Math.max(0, ((s.stats[key] ?? 0) - (prev.stats[key] ?? 0)) / dt) : 0;
        }));
        const max = Math.max(1, ...values.flat());
        const box = $("plot-" + p.id);
        p.series.forEach(([key], j) => {
          const pts = values[j].map((v, i) => `${(300 * (i + 300 - values[j].length) / 299).toFixed(1)},${(99 - 95 * v / max).toFixed(1)}`);
          box.querySelector(`polyline[data-series="${key}"]`).setAttribute("points", pts.join(" "));
        });
        box.querySelector(".now").textContent = p.series.map(([, , name], j) => `${name} ${Math.round(values[j].at(-1) ?? 0).toLocaleString()}`).join(" · ")
          + ` (peak ${Math.round(max).toLocaleString()})`;
      }
    }
    async function tick() {
      try {
        const s = await (await fetch("/v1/stats", {cache: "no-store"})).json();
        for (const k of Object.keys(tiles)) $("v-" + k).textContent = (s[k] ?? 0).toLocaleString();
        Object.assign(s, await latency());
        samples.push({t: Date.now(), stats: s}); if (samples.length > 300) samples.shift();
        draw();
        $("status").textContent = `updated ${new Date().toLocaleTimeString()} · store: ${s.durable ? "durable log" : "memory"}`;
      } catch (e) { $("status").textContent = "hub unreachable: " + e; }
    }
    tick(); setInterval(tick, 1000);

    const webhookTiles = {endpoints: "endpoints", pending: "queued", delivered: "delivered", failedAttempts: "failed attempts",
      deadLetters: "dead letters (replayable)"};
    for (const [k, l] of Object.entries(webhookTiles)) card($("webhooks"), "w-" + k, l);
    async function webhookTick() {
      try {
        const w = await (await fetch("/v1/webhooks/stats", {cache: "no-store"})).json();
        for (const k of Object.keys(webhookTiles)) $("w-" + k).textContent = (w[k] ?? 0).toLocaleString();
      } catch (e) {}
    }
    webhookTick(); setInterval(webhookTick, 1000);

    $("inspector").addEventListener("submit", async event => {
      event.preventDefault();
      const key = $("key").value.trim(), out = $("inspection");
      if (!key) return;
      try {
        const r = await fetch(`/v1/keys/${encodeURIComponent(key)}`, {cache: "no-store"});
        const body = await r.json();
        if (!r.ok) { out.textContent = body.message || `HTTP ${r.status}`; return; }
        out.textContent = `${body.outcomes.length} retained · next seq ${body.nextSeq} · ${body.subscribers} subscriber(s)`
          + (body.storing ? ` · ${body.storing} being stored` : "");
        const table = document.createElement("table");
        table.innerHTML = "<tr><th>seq</th><th>status</th><th>id</th><th>published</th><th>expires</th><th>bytes</th></tr>";
        for (const o of body.outcomes) {
          const tr = table.insertRow();
          for (const v of [o.seq, o.status, o.id, new Date(o.publishedAt).toLocaleTimeString(), new Date(o.expiresAt).toLocaleTimeString(), o.bytes]) {
            tr.insertCell().textContent = v;
          }
        }
        out.append(table);
      } catch (e) { out.textContent = "hub unreachable: " + e; }
    });
    // With --dev-engine the hub serves the engine's API too (204 here): link its monitoring page.
    fetch("/v2/status", {cache: "no-store"}).then(r => { if (r.status === 204) $("engine").hidden = false; }).catch(() => {});
    </script></body></html>
    """
}
