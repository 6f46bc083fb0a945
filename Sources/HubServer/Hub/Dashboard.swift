/// The live dashboard at `/`: one static page that polls `/v1/stats` every second (and links the
/// dev engine's monitoring page when the hub runs one).
enum Dashboard {
    static let html = """
    <!doctype html>
    <html lang="en"><head><meta charset="utf-8"><title>AffinityHub</title>
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <style>
     body{font:15px system-ui,sans-serif;margin:2rem;color:#222;background:#fafafa}
     h1{font-size:1.3rem} h2{font-size:1rem;margin:1.2rem 0 .6rem} .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(11rem,1fr));gap:.8rem}
     .card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.7rem}
     .n{font-size:1.6rem;font-variant-numeric:tabular-nums} .l{color:#666;font-size:.8rem}
     #status{color:#666;font-size:.8rem;margin-top:1rem} #engine{font-size:.9rem;font-weight:normal;color:#1a73e8}
    </style></head>
    <body><h1>AffinityHub <a id="engine" href="/dev-engine" hidden>· dev engine: processes and instances</a></h1><div class="grid" id="grid"></div>
    <h2>Outcome webhooks</h2><div class="grid" id="webhooks"></div><div id="status">connecting…</div>
    <script type="module">
    const labels = {connections:"TCP connections", websockets:"WebSockets", subscriptions:"subscriptions", keys:"keys",
      retainedOutcomes:"retained outcomes", retainedBytes:"retained bytes", published:"published", delivered:"delivered",
      duplicates:"idempotent repeats", expired:"expired", released:"released early", rejected:"rejected",
      bytesIn:"bytes in", bytesOut:"bytes out"};
    const grid = document.getElementById("grid"), status = document.getElementById("status");
    for (const [k, l] of Object.entries(labels)) {
      const c = document.createElement("div"); c.className = "card";
      c.innerHTML = `<div class="n" id="v-${k}">–</div><div class="l">${l}</div>`; grid.append(c);
    }
    const webhookLabels = {endpoints: "endpoints", pending: "queued", delivered: "delivered", failedAttempts: "failed attempts",
      deadLetters: "dead letters (replayable)"};
    const hooks = document.getElementById("webhooks");
    for (const [k, l] of Object.entries(webhookLabels)) {
      const c = document.createElement("div"); c.className = "card";
      c.innerHTML = `<div class="n" id="w-${k}">–</div><div class="l">${l}</div>`; hooks.append(c);
    }
    async function webhookTick() {
      try {
        const w = await (await fetch("/v1/webhooks/stats", {cache: "no-store"})).json();
        for (const k of Object.keys(webhookLabels)) document.getElementById("w-" + k).textContent = (w[k] ?? 0).toLocaleString();
      } catch (e) {}
    }
    webhookTick(); setInterval(webhookTick, 1000);
    async function tick() {
      try {
        const s = await (await fetch("/v1/stats", {cache: "no-store"})).json();
        for (const k of Object.keys(labels)) document.getElementById("v-" + k).textContent = (s[k] ?? 0).toLocaleString();
        status.textContent = `updated ${new Date().toLocaleTimeString()} · store: ${s.durable ? "durable log" : "memory"}`;
      } catch (e) { status.textContent = "hub unreachable: " + e; }
    }
    tick(); setInterval(tick, 1000);
    // With --dev-engine the hub serves the engine's API too (204 here): link its monitoring page.
    fetch("/v2/status", {cache: "no-store"}).then(r => { if (r.status === 204) document.getElementById("engine").hidden = false; }).catch(() => {});
    </script></body></html>
    """
}
