// Draws a process as SVG from its file's own BPMN DI: the shapes and edges where the Modeler put
// them, in BPMN's notation (circles for events, rounded boxes for tasks, diamonds for gateways).
// Every shape carries `data-element` and every edge `data-flow`, so the monitoring page colours
// what is active, done or failed by toggling classes; the SVG itself never changes. Pure: names
// are escaped here, nothing from the file reaches the page unescaped.
import HubBytes

public enum DiagramSVG {
    /// The SVG document, or nil when the file has no diagram for this process.
    public static func render(_ model: ProcessModel) -> String? {
        let d = model.diagram
        guard !d.isEmpty else { return nil }
        var minX = Double.greatestFiniteMagnitude, minY = Double.greatestFiniteMagnitude, maxX = -minX, maxY = -minY
        func extend(_ x: Double, _ y: Double) { minX = min(minX, x); minY = min(minY, y); maxX = max(maxX, x); maxY = max(maxY, y) }
        for b in d.shapes.values { extend(b.x, b.y); extend(b.x + b.width, b.y + b.height + 30) }
        for points in d.edges.values { for p in points { extend(p.x, p.y) } }
        let pad = 20.0
        var out = #"<svg xmlns="http://www.w3.org/2000/svg" class="bpmn" viewBox="\#(n(minX - pad)) \#(n(minY - pad)) \#(n(maxX - minX + 2 * pad)) \#(n(maxY - minY + 2 * pad))" role="img">"#
        out += #"<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>"#
        // Edges first, under the shapes, in a stable order.
        for id in d.edges.keys.sorted() {
            let points = d.edges[id]!.map { "\(n($0.x)),\(n($0.y))" }.joined(separator: " ")
            out += #"<polyline class="flow" data-flow="\#(HTMLText.escaped(id))" points="\#(points)" marker-end="url(#arrow)"/>"#
        }
        // Boundary events last, so they sit on the border of their activity.
        let order = d.shapes.keys.sorted { a, b in
            let (ba, bb) = (isBoundary(model, a), isBoundary(model, b))
            return ba != bb ? !ba : a < b
        }
        for id in order {
            guard let element = model.elements[id] else { continue }
            out += shape(element, d.shapes[id]!, model)
        }
        return out + "</svg>"
    }

    static func isBoundary(_ model: ProcessModel, _ id: String) -> Bool {
        if case .boundary? = model.elements[id]?.kind { return true } else { return false }
    }

    static func shape(_ e: FlowElement, _ b: Diagram.Bounds, _ model: ProcessModel) -> String {
        let id = HTMLText.escaped(e.id)
        let title = "<title>\(HTMLText.escaped(e.name ?? e.id)) (\(HTMLText.escaped(e.typeName.lowercased().replacingUnderscores)))</title>"
        var g = #"<g class="shape \#(cssKind(e))" data-element="\#(id)">\#(title)"#
        let cx = b.x + b.width / 2, cy = b.y + b.height / 2, r = min(b.width, b.height) / 2
        if e.typeName.hasSuffix("_EVENT") {
            g += #"<circle class="body" cx="\#(n(cx))" cy="\#(n(cy))" r="\#(n(r))"/>"#
            if case .boundary = e.kind, !(boundary(e.id, model)?.interrupting ?? true) {
                g += #"<circle class="inner dashed" cx="\#(n(cx))" cy="\#(n(cy))" r="\#(n(r - 3))"/>"#
            } else if case .boundary = e.kind {
                g += #"<circle class="inner" cx="\#(n(cx))" cy="\#(n(cy))" r="\#(n(r - 3))"/>"#
            } else if e.typeName.hasPrefix("INTERMEDIATE") {
                g += #"<circle class="inner" cx="\#(n(cx))" cy="\#(n(cy))" r="\#(n(r - 3))"/>"#
            }
            if case .endEvent(terminate: true) = e.kind { g += #"<circle class="mark" cx="\#(n(cx))" cy="\#(n(cy))" r="\#(n(r * 0.55))"/>"# }
            if isTimer(e, model) {
                let c = r * 0.5
                g += #"<circle class="clock" cx="\#(n(cx))" cy="\#(n(cy))" r="\#(n(c))"/><path class="clock" d="M\#(n(cx)),\#(n(cy - c * 0.7)) V\#(n(cy)) L\#(n(cx + c * 0.5)),\#(n(cy + c * 0.3))"/>"#
            } else if let glyph = glyph(e, model) {
                g += #"<text class="glyph" x="\#(n(cx))" y="\#(n(cy + 5))">\#(glyph)</text>"#
            }
            g += label(e.name, x: cx, y: b.y + b.height + 14, width: 110)
        } else if e.typeName.hasSuffix("_GATEWAY") {
            g += #"<polygon class="body" points="\#(n(cx)),\#(n(b.y)) \#(n(b.x + b.width)),\#(n(cy)) \#(n(cx)),\#(n(b.y + b.height)) \#(n(b.x)),\#(n(cy))"/>"#
            let s = r * 0.4
            if case .parallelGateway = e.kind {
                g += #"<path class="mark-line" d="M\#(n(cx)),\#(n(cy - s)) V\#(n(cy + s)) M\#(n(cx - s)),\#(n(cy)) H\#(n(cx + s))"/>"#
            } else {
                g += #"<path class="mark-line" d="M\#(n(cx - s * 0.8)),\#(n(cy - s * 0.8)) L\#(n(cx + s * 0.8)),\#(n(cy + s * 0.8)) M\#(n(cx + s * 0.8)),\#(n(cy - s * 0.8)) L\#(n(cx - s * 0.8)),\#(n(cy + s * 0.8))"/>"#
            }
            g += label(e.name, x: cx, y: b.y + b.height + 14, width: 110)
        } else {
            g += #"<rect class="body" x="\#(n(b.x))" y="\#(n(b.y))" width="\#(n(b.width))" height="\#(n(b.height))" rx="10"/>"#
            if let glyph = glyph(e, model) { g += #"<text class="glyph small" x="\#(n(b.x + 12))" y="\#(n(b.y + 16))">\#(glyph)</text>"# }
            g += label(e.name ?? e.id, x: cx, y: cy, width: b.width - 10, centred: true)
        }
        return g + "</g>"
    }

    static func boundary(_ id: String, _ model: ProcessModel) -> BoundaryEvent? {
        model.boundaries.values.lazy.flatMap { $0 }.first { $0.elementId == id }
    }

    static func isTimer(_ e: FlowElement, _ model: ProcessModel) -> Bool {
        if case .timerCatch = e.kind { return true }
        if case .timer? = boundary(e.id, model)?.trigger { return true }
        return false
    }

    /// A one-character hint of what the element waits for or does.
    static func glyph(_ e: FlowElement, _ model: ProcessModel) -> String? {
        switch e.kind {
        case .messageCatch: return "✉"
        case .signalCatch, .signalThrow: return "△"
        case .serviceTask: return "⚙"
        case .userTask: return "👤"
        case .boundary:
            switch boundary(e.id, model)?.trigger {
            case .timer?: return nil
            case .message?: return "✉"
            case .signal?: return "△"
            case .error?: return "⚡"
            case nil: return nil
            }
        default: return nil
        }
    }

    static func cssKind(_ e: FlowElement) -> String {
        switch e.kind {
        case .startEvent: "start"
        case .endEvent: "end"
        case .exclusiveGateway, .parallelGateway: "gateway"
        case .boundary: "boundary"
        case .timerCatch, .messageCatch, .signalCatch, .signalThrow, .passThrough:
            e.typeName.hasSuffix("_EVENT") ? "event" : "task"
        default: "task"
        }
    }

    /// Text wrapped to `width` (about 6.5 px a character), centred on (x, y).
    static func label(_ text: String?, x: Double, y: Double, width: Double, centred: Bool = false) -> String {
        guard let text, !text.isEmpty else { return "" }
        let perLine = max(6, Int(width / 6.5))
        var lines: [String] = [], line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty, line.count + 1 + word.count > perLine { lines.append(line); line = "" }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty { lines.append(line) }
        lines = Array(lines.prefix(4))
        let top = centred ? y - Double(lines.count - 1) * 7 + 4 : y
        return lines.enumerated().map { i, l in
            #"<text class="label" x="\#(n(x))" y="\#(n(top + Double(i) * 14))">\#(HTMLText.escaped(l))</text>"#
        }.joined()
    }

    /// A coordinate without a fractional part when it has none.
    static func n(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(format1(v))
    }

    static func format1(_ v: Double) -> String {
        let tenths = Int64((v * 10).rounded())
        let sign = tenths < 0 ? "-" : ""
        return "\(sign)\(abs(tenths) / 10).\(abs(tenths) % 10)"
    }
}

private extension String {
    var replacingUnderscores: String { String(map { $0 == "_" ? " " : $0 }) }
}
