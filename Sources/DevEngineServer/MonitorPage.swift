// The dev engine's monitoring page, `GET /dev-engine`: deployed processes, instances and their
// state, the selected instance's diagram (SVG drawn from the file's BPMN DI by `DiagramSVG`) with
// its active elements, path taken and incidents coloured, its variables, and its incidents with a
// Retry button. One static page, no external script: it reads the same REST API v2 any client
// uses, once a second. `GET /dev-engine/diagrams/{processDefinitionKey}` serves the SVG.
import DevEngine
import HTTP1
import HubBytes
import HubServer

extension Router {
    mutating func addDevEngineMonitor(_ engine: DevEngine) {
        add("/dev-engine", .http(methods: ["GET"]) { _, _ in
            HTTPResponse(status: 200, headers: [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"),
                                                ("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:")],
                         body: Array(MonitorPage.html.utf8))
        })
        add("/dev-engine/diagrams/{key}", .http(methods: ["GET"]) { request, p in
            if let denied = engine.authorize(request) { return denied }
            guard let key = p["key"].flatMap({ Int64($0) }), let definition = engine.core.withLock({ $0.processDefinition(key) }) else {
                return .json(404, #"{"error":"not_found","message":"no such process definition"}"#)
            }
            guard let svg = DiagramSVG.render(definition.model) else {
                return .json(404, #"{"error":"no_diagram","message":"the deployed file has no BPMN diagram (BPMNDiagram) for this process"}"#)
            }
            return HTTPResponse(status: 200, headers: [("Content-Type", "image/svg+xml"), ("Cache-Control", "max-age=3600")], body: Array(svg.utf8))
        })
    }
}

enum MonitorPage {
    static let html = """
    <!doctype html>
    <html lang="en"><head><meta charset="utf-8"><title>AffinityHub · dev engine</title>
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <style>
     body{font:14px system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
     header{padding:.8rem 1.5rem;background:#fff;border-bottom:1px solid #ddd;display:flex;gap:1rem;align-items:baseline}
     header h1{font-size:1.1rem;margin:0} header a{color:#1a73e8}
     main{display:grid;grid-template-columns:minmax(16rem,24rem) 1fr;gap:1rem;padding:1rem 1.5rem}
     section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.7rem;margin-bottom:1rem;overflow:auto}
     h2{font-size:.95rem;margin:.1rem 0 .5rem} table{border-collapse:collapse;width:100%} td,th{text-align:left;padding:.2rem .4rem;border-bottom:1px solid #eee;vertical-align:top}
     th{font-weight:600;color:#555;font-size:.8rem} tr.pick{cursor:pointer} tr.pick:hover{background:#f1f3f4} tr.selected{background:#e8f0fe}
     .state{font-size:.75rem;padding:.05rem .4rem;border-radius:3px;background:#eee} .ACTIVE{background:#e8f0fe;color:#174ea6}
     .COMPLETED{background:#e6f4ea;color:#137333} .TERMINATED{background:#f1f3f4;color:#5f6368} .incident-flag{color:#d93025;font-weight:600}
     code{font:12px ui-monospace,monospace;word-break:break-all} button{font:inherit;padding:.15rem .6rem;cursor:pointer}
     #diagram svg{width:100%;height:auto;max-height:60vh}
     svg.bpmn .body{fill:#fff;stroke:#444;stroke-width:1.5} svg.bpmn .inner{fill:none;stroke:#444;stroke-width:1}
     svg.bpmn .inner.dashed{stroke-dasharray:3 2} svg.bpmn .mark{fill:#444} svg.bpmn .mark-line{stroke:#444;stroke-width:3;fill:none}
     svg.bpmn .end .body{stroke-width:4} svg.bpmn .label{font-size:12px;text-anchor:middle;fill:#222} svg.bpmn .glyph{font-size:14px;text-anchor:middle}
     svg.bpmn .glyph.small{font-size:12px} svg.bpmn .clock{fill:none;stroke:#444;stroke-width:1.2} svg.bpmn .flow{fill:none;stroke:#9aa0a6;stroke-width:1.5} svg.bpmn .arrowhead{fill:#9aa0a6}
     svg.bpmn .flow.taken{stroke:#137333;stroke-width:2.5}
     svg.bpmn .shape.done .body{fill:#e6f4ea;stroke:#137333}
     svg.bpmn .shape.active .body{fill:#e8f0fe;stroke:#1a73e8;stroke-width:3}
     svg.bpmn .shape.incident .body{fill:#fce8e6;stroke:#d93025;stroke-width:3}
     #status{color:#666;font-size:.8rem}
    </style></head>
    <body>
    <header><h1>Dev engine</h1><a href="/">← hub dashboard</a><span id="status">loading…</span></header>
    <main>
     <div>
      <section><h2>Processes</h2><table><thead><tr><th>process</th><th>version</th><th>key</th></tr></thead><tbody id="definitions"></tbody></table></section>
      <section><h2>Instances <small>(newest 50)</small></h2><table><thead><tr><th>key</th><th>process</th><th>state</th></tr></thead><tbody id="instances"></tbody></table></section>
     </div>
     <div>
      <section id="detail" hidden>
       <h2 id="title"></h2>
       <div id="diagram"></div>
       <p id="nodiagram" hidden>This process's file has no diagram (BPMN DI); its elements are listed below.</p>
      </section>
      <section id="incidents-box" hidden><h2>Incidents</h2><table><thead><tr><th>element</th><th>type</th><th>message</th><th></th></tr></thead><tbody id="incidents"></tbody></table></section>
      <section id="elements-box" hidden><h2>Elements</h2><table><thead><tr><th>element</th><th>type</th><th>state</th></tr></thead><tbody id="elements"></tbody></table></section>
      <section id="variables-box" hidden><h2>Variables</h2><table><thead><tr><th>name</th><th>value</th></tr></thead><tbody id="variables"></tbody></table></section>
     </div>
    </main>
    <script type="module">
    const $ = id => document.getElementById(id);
    let selected = new URLSearchParams(location.hash.slice(1)).get("instance");
    const diagrams = new Map();  // definition key → SVG text, or null when the file has none
    async function api(path, body, method) {
      const init = {method: method || (body === undefined ? "GET" : "POST"), headers: {"Content-Type": "application/json"}, cache: "no-store"};
      if (body !== undefined) init.body = JSON.stringify(body);
      const r = await fetch(path, init);
      if (!r.ok) throw new Error(`${init.method} ${path}: ${r.status}`);
      return r.status === 204 ? null : r.json();
    }
    function cell(tr, text, cls) { const td = tr.insertCell(); td.textContent = text ?? ""; if (cls) td.className = cls; return td; }
    function fill(tbody, rows) { tbody.replaceChildren(...rows); }
    function stateBadge(td, state) { const s = document.createElement("span"); s.className = "state " + state; s.textContent = state; td.append(s); }

    async function refreshLists() {
      const defs = await api("/v2/process-definitions/search", {sort: [{field: "processDefinitionKey", order: "DESC"}], page: {limit: 100}});
      fill($("definitions"), defs.items.map(d => { const tr = document.createElement("tr"); cell(tr, d.name || d.processDefinitionId);
        cell(tr, "v" + d.version); cell(tr, d.processDefinitionKey).className = "key"; return tr; }));
      const list = await api("/v2/process-instances/search", {sort: [{field: "processInstanceKey", order: "DESC"}], page: {limit: 50}});
      if (!selected && list.items.length) selected = list.items[0].processInstanceKey;
      fill($("instances"), list.items.map(i => {
        const tr = document.createElement("tr"); tr.className = "pick" + (i.processInstanceKey === selected ? " selected" : "");
        tr.dataset.key = i.processInstanceKey;
        cell(tr, i.processInstanceKey); cell(tr, i.processDefinitionName || i.processDefinitionId);
        const td = tr.insertCell(); stateBadge(td, i.state);
        if (i.hasIncident) { const f = document.createElement("span"); f.className = "incident-flag"; f.textContent = " ⚠ incident"; td.append(f); }
        tr.onclick = () => { selected = i.processInstanceKey; location.hash = "instance=" + selected; tick(); };
        return tr;
      }));
    }

    async function diagramFor(definitionKey) {
      if (!diagrams.has(definitionKey)) {
        const r = await fetch(`/dev-engine/diagrams/${encodeURIComponent(definitionKey)}`);
        diagrams.set(definitionKey, r.ok ? await r.text() : null);
      }
      return diagrams.get(definitionKey);
    }

    async function refreshDetail() {
      if (!selected) return;
      const inst = await api(`/v2/process-instances/${encodeURIComponent(selected)}`);
      $("detail").hidden = false;
      $("title").textContent = `${inst.processDefinitionName || inst.processDefinitionId} · instance ${inst.processInstanceKey} · ${inst.state}`;
      const svg = await diagramFor(inst.processDefinitionKey);
      const box = $("diagram");
      if (svg && box.dataset.definition !== inst.processDefinitionKey) {
        // Our own SVG: every name in it was escaped by the server.
        box.innerHTML = svg; box.dataset.definition = inst.processDefinitionKey;
      }
      box.hidden = !svg; $("nodiagram").hidden = !!svg;
      const elements = await api("/v2/element-instances/search", {filter: {processInstanceKey: selected}, page: {limit: 10000}});
      const flows = await api(`/v2/process-instances/${encodeURIComponent(selected)}/sequence-flows`);
      const status = new Map();
      for (const e of elements.items) {
        if (e.type === "PROCESS") continue;
        const now = e.hasIncident ? "incident" : e.state === "ACTIVE" ? "active" : e.state === "COMPLETED" ? "done" : null;
        const rank = {incident: 3, active: 2, done: 1};
        if (now && (rank[now] > (rank[status.get(e.elementId)] || 0))) status.set(e.elementId, now);
      }
      for (const g of box.querySelectorAll("[data-element]")) {
        g.classList.remove("active", "done", "incident");
        const s = status.get(g.dataset.element); if (s) g.classList.add(s);
      }
      const taken = new Set(flows.items.map(f => f.sequenceFlowId));
      for (const f of box.querySelectorAll("[data-flow]")) f.classList.toggle("taken", taken.has(f.dataset.flow));
      $("elements-box").hidden = false;
      fill($("elements"), elements.items.filter(e => e.type !== "PROCESS").map(e => {
        const tr = document.createElement("tr"); cell(tr, e.elementName); cell(tr, e.type.toLowerCase().replaceAll("_", " "));
        stateBadge(tr.insertCell(), e.hasIncident ? "INCIDENT" : e.state); return tr; }));
      const vars = await api("/v2/variables/search", {filter: {processInstanceKey: selected}, sort: [{field: "name"}], page: {limit: 1000}});
      $("variables-box").hidden = vars.items.length === 0;
      fill($("variables"), vars.items.map(v => { const tr = document.createElement("tr"); cell(tr, v.name);
        const td = tr.insertCell(); const c = document.createElement("code"); c.textContent = v.value + (v.isTruncated ? " …" : ""); td.append(c); return tr; }));
      const incidents = await api(`/v2/process-instances/${encodeURIComponent(selected)}/incidents/search`, {filter: {state: "ACTIVE"}});
      $("incidents-box").hidden = incidents.items.length === 0;
      fill($("incidents"), incidents.items.map(i => {
        const tr = document.createElement("tr"); tr.dataset.incident = i.incidentKey;
        cell(tr, i.elementId); cell(tr, i.errorType); cell(tr, i.errorMessage);
        const b = document.createElement("button"); b.textContent = "Retry"; b.className = "retry";
        b.onclick = async () => {
          b.disabled = true;
          try {
            // A job out of retries gets one more before its incident is resolved.
            if (i.jobKey) await api(`/v2/jobs/${encodeURIComponent(i.jobKey)}`, {changeset: {retries: 1}}, "PATCH").catch(() => null);
            await api(`/v2/incidents/${encodeURIComponent(i.incidentKey)}/resolution`, {});
          } catch (e) { alert(e.message); }
          tick();
        };
        tr.insertCell().append(b); return tr;
      }));
    }

    let busy = false;
    async function tick() {
      if (busy) return; busy = true;
      try {
        await refreshLists(); await refreshDetail();
        $("status").textContent = `updated ${new Date().toLocaleTimeString()}`;
      } catch (e) { $("status").textContent = "engine unreachable: " + e.message; }
      finally { busy = false; }
    }
    // A link or the back button changes the instance shown.
    addEventListener("hashchange", () => { selected = new URLSearchParams(location.hash.slice(1)).get("instance") || selected; tick(); });
    tick(); setInterval(tick, 1000);
    </script></body></html>
    """
}
