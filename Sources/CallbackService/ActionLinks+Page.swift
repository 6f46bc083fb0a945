// What a person (HTML) or a program (Accept: application/json) sees at an action link. Pages
// are small, script-free and never cached, indexed or leaked through a referrer.
import Callbacks
import Foundation
import HTTP1
import HubBytes

extension ActionLinks {
    func response(_ result: LinkResult, action: String, wantsJSON: Bool) -> HTTPResponse {
        let (status, json, html) = render(result, action: action)
        var headers = [("Cache-Control", "no-store"), ("Referrer-Policy", "no-referrer"), ("X-Robots-Tag", "noindex, nofollow"),
                       ("X-Content-Type-Options", "nosniff")]
        if status == 429 || status == 503 { headers.append(("Retry-After", "1")) }
        if wantsJSON { return .json(status, json.serialized(), headers: headers) }
        headers += [("Content-Type", "text/html; charset=utf-8"),
                    ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")]
        return HTTPResponse(status: status, headers: headers, body: Array(html.utf8))
    }

    private func render(_ result: LinkResult, action: String) -> (Int, JSONValue, String) {
        switch result {
        case .notFound:
            return (404, ["error": "not_found", "message": "no such link"], page("Link not found", "<p>This link is not valid. Check that it was copied whole.</p>"))
        case .rateLimited:
            return (429, ["error": "rate_limited", "message": "too many requests; retry in a second"], page("Too many requests", "<p>Please try again in a moment.</p>"))
        case .unavailable(let why):
            return (503, ["error": "unavailable", "message": .string(why)], page("Not recorded", "<p>\(escape(why))</p>"))
        case .invalid(let group, let chosen, let message):
            return (400, ["error": "invalid_input", "message": .string(message), "group": .string(group.id), "action": .string(chosen.name)],
                    form(group, chosen, error: message))
        case .view(let view, let notice):
            switch view {
            case .unknown:
                return (410, ["error": "gone", "message": "this link expired"], page("Link expired", "<p>This link has expired.</p>"))
            case .expired(let g):
                return (410, state(g, "expired"), page(g.title ?? "Link expired", "<p>This link expired on \(time(g.expiresAt)).</p>"))
            case .revoked(let g):
                return (410, state(g, "revoked"), page(g.title ?? "Link withdrawn", "<p>This request was withdrawn; nothing is needed from you.</p>"))
            case .open(let g, let chosen):
                var json = state(g, "open")
                json = merge(json, ["action": .string(chosen.name), "label": .string(chosen.label),
                                    "inputs": .array(chosen.inputs.map { ["name": .string($0.name), "type": .string($0.kind.rawValue), "required": .bool($0.required)] })])
                return (200, json, form(g, chosen, error: nil))
            case .recorded(let g):
                guard case .used(let a, _, let at) = g.state else { return (200, state(g, "used"), page("Recorded", "")) }
                let label = g.action(a)?.label ?? a
                let heading = notice == nil ? "Already recorded" : "Recorded"
                let text = notice == nil ? "Already recorded: <strong>\(escape(label))</strong> at \(time(at))." : "Thank you: <strong>\(escape(label))</strong> was recorded at \(time(at))."
                return (200, merge(state(g, "used"), ["recordedAction": .string(a), "recordedAt": JSONValue(Int(at))]), page(g.title ?? heading, "<p>\(text)</p>"))
            case .otherChosen(let g):
                var json = merge(state(g, "other_chosen"), ["error": "conflict", "message": "another choice was recorded"])
                switch g.state {
                case .used(let a, _, let at), .pending(let a, _, let at): json = merge(json, ["recordedAction": .string(a), "recordedAt": JSONValue(Int(at))])
                case .open, .revoked: break
                }
                return (409, json, page(g.title ?? "Already answered", "<p>Another choice was recorded for this request.</p>"))
            }
        }
    }

    private func state(_ g: ActionGroup, _ s: String) -> JSONValue {
        ["group": .string(g.id), "state": .string(s), "expiresAt": JSONValue(Int(g.expiresAt))]
    }

    private func merge(_ a: JSONValue, _ b: [String: JSONValue]) -> JSONValue {
        .object((a.objectValue ?? [:]).merging(b) { _, new in new })
    }

    private func form(_ g: ActionGroup, _ chosen: ActionDefinition, error: String?) -> String {
        var fields = ""
        for input in chosen.inputs {
            let id = "in-" + escape(input.name)
            switch input.kind {
            case .boolean:
                fields += "<p><label><input type=\"checkbox\" name=\"\(escape(input.name))\" value=\"true\"> \(escape(input.label))</label></p>"
            case .number:
                let bounds = (input.min.map { " min=\"\(JSONValue($0).serialized())\"" } ?? "") + (input.max.map { " max=\"\(JSONValue($0).serialized())\"" } ?? "")
                fields += "<p><label for=\"\(id)\">\(escape(input.label))</label><input id=\"\(id)\" type=\"number\" step=\"any\" name=\"\(escape(input.name))\"\(bounds)\(input.required ? " required" : "")></p>"
            case .string:
                fields += "<p><label for=\"\(id)\">\(escape(input.label))</label><input id=\"\(id)\" type=\"text\" name=\"\(escape(input.name))\" maxlength=\"\(input.maxLength)\"\(input.required ? " required" : "")></p>"
            }
        }
        let problem = error.map { "<p class=\"error\" role=\"alert\">\(escape($0))</p>" } ?? ""
        let body = "<p>Please confirm your choice. This link works once and expires on \(time(g.expiresAt)).</p>\(problem)"
            + "<form method=\"post\">\(fields)<button type=\"submit\">\(escape(chosen.label))</button></form>"
        return page(g.title ?? "Confirm: \(chosen.label)", body)
    }

    private func page(_ title: String, _ body: String) -> String {
        """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="robots" content="noindex, nofollow"><title>\(escape(title))</title>
        <style>body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2430}main{max-width:32rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 3px #0002}h1{font-size:1.3rem;margin-top:0}button{font:inherit;padding:.6rem 1.4rem;border:0;border-radius:6px;background:#2563eb;color:#fff;cursor:pointer}label{display:block;margin:.3rem 0}input[type=text],input[type=number]{font:inherit;padding:.4rem;width:100%;box-sizing:border-box}.error{color:#b91c1c}</style>
        </head><body><main><h1>\(escape(title))</h1>\(body)</main></body></html>
        """
    }

    private func time(_ ms: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000)).replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: " UTC")
    }
}

private func escape(_ s: String) -> String { HTMLText.escaped(s) }
