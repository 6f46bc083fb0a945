// The demo page: place orders, watch each outcome arrive live through the hub's browser client.
enum DemoPage {
    static func html(hubURL: String) -> String {
        page.replacingOccurrences(of: "__HUB__", with: hubURL)
    }

    static let page = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>AffinityHub demo: order fulfilment</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 52rem; color: #222; }
  form { display: flex; gap: .6rem; align-items: end; flex-wrap: wrap; margin-bottom: 1.5rem; }
  label { display: flex; flex-direction: column; font-size: 13px; color: #555; }
  input, select, button { font: inherit; padding: .35rem .5rem; }
  table { width: 100%; border-collapse: collapse; }
  td, th { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #eee; font-size: 14px; }
  .pending { color: #a60; } .completed { color: #070; font-weight: 600; } .failed { color: #b00; font-weight: 600; }
  code { font-size: 12px; color: #555; }
</style>
</head>
<body>
<h1>Order fulfilment</h1>
<p>Each order starts an <code>order-fulfilment</code> workflow. The page gets <code>202 Accepted</code> at once and awaits the
workflow's outcome live from the hub (WebSocket, SSE fallback) with <code>/v1/client.js</code>. Orders above the
approval threshold wait for a manager: approve or deny them in the <a href="/mailbox" target="_blank">manager's mailbox</a>
(one-time links the hub made). The shipping label comes from an external service through an HTTP callback.</p>
<form id="order">
  <label>Item <input id="item" value="book" maxlength="64" required></label>
  <label>Quantity <input id="quantity" type="number" min="1" max="100" value="1" required></label>
  <label>Scenario
    <select id="scenario">
      <option value="ok">ships</option>
      <option value="approval">big order: needs the manager's approval</option>
      <option value="decline">payment declined</option>
      <option value="outOfStock">out of stock</option>
      <option value="labelRefused">carrier refuses the label</option>
      <option value="labelDown">label service down (an incident)</option>
      <option value="slow">slow label service (8 s)</option>
    </select>
  </label>
  <button id="place" type="submit">Place order</button>
</form>
<table>
  <thead><tr><th>Order</th><th>Item</th><th>Status</th><th>Details</th></tr></thead>
  <tbody id="orders"></tbody>
</table>
<script type="module">
// The hub as this browser reaches it: the configured URL, unless it names this machine's loopback
// and the page came from elsewhere (then the page's host, on the hub's port).
const hub = new URL("__HUB__");
const loopback = h => h === "127.0.0.1" || h === "localhost" || h === "[::1]";
if (loopback(hub.hostname) && !loopback(location.hostname)) hub.hostname = location.hostname;
const { awaitOutcome } = await import(hub.origin + "/v1/client.js");

const rows = document.getElementById("orders");
document.getElementById("order").addEventListener("submit", async (event) => {
  event.preventDefault();
  const item = document.getElementById("item").value;
  const scenario = document.getElementById("scenario").value;
  const quantity = scenario === "approval" ? 30 : Number(document.getElementById("quantity").value);
  const simulate = { decline: { decline: true }, outOfStock: { outOfStock: true }, slow: { labelDelayMs: 8000 },
                     labelRefused: { labelRefused: true }, labelDown: { labelServiceDown: true } }[scenario] || {};
  const row = rows.insertRow(0);
  row.innerHTML = "<td>…</td><td></td><td class=pending>placing</td><td></td>";
  row.cells[1].textContent = `${quantity} × ${item}`;
  let response, order;
  try {
    response = await fetch("/purchase?wait=0", { method: "POST", headers: { "Content-Type": "application/json" },
                                                 body: JSON.stringify({ item, quantity, simulate }) });
    order = await response.json();
  } catch (e) {
    row.cells[0].textContent = "—";
    show(row, "failed", { error: "the demo server did not answer: " + String(e) });
    return;
  }
  row.dataset.key = order.key || "";
  row.cells[0].textContent = order.orderId || "—";
  if (response.status !== 202) { show(row, order.status || "failed", order.outcome ? order.outcome.data : order); return; }
  row.cells[2].textContent = scenario === "approval" ? "awaiting the manager" : "pending";
  try {
    const outcome = await awaitOutcome(order.hub.key, { token: order.hub.token || undefined, timeoutMs: 120000 });
    show(row, outcome.status, outcome.data);
  } catch (e) {
    show(row, "failed", { error: String(e) });
  }
});

function show(row, status, data) {
  row.cells[2].className = status === "completed" ? "completed" : status === "pending" ? "pending" : "failed";
  row.cells[2].textContent = status === "completed" ? "shipped" : status;
  row.cells[3].innerHTML = "";
  const code = document.createElement("code");
  code.textContent = JSON.stringify(data);
  row.cells[3].appendChild(code);
  row.dataset.status = status;
}
</script>
</body>
</html>
"""#
}
