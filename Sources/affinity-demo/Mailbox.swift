// The manager's mailbox: where the demo's `send-approval-email` worker "sends" the email with the
// approve/deny links the workflow created. GET /mailbox shows it; GET /mailbox.json for scripts.
import Foundation
import HubBytes
import Synchronization

final class Mailbox: Sendable {
    struct Mail: Sendable {
        var orderId: String
        var subject: String
        var body: String
        var links: [(name: String, url: String)]
        var sentAt: Date
    }

    private let mails = Mutex<[Mail]>([])

    func deliver(_ mail: Mail) {
        mails.withLock { list in
            list.insert(mail, at: 0)
            if list.count > 200 { list.removeLast() }
        }
    }

    var json: String {
        JSONValue.array(mails.withLock { $0 }.map { m in
            ["orderId": .string(m.orderId), "subject": .string(m.subject), "body": .string(m.body),
             "links": .object(Dictionary(uniqueKeysWithValues: m.links.map { ($0.name, JSONValue.string($0.url)) }))]
        }).serialized()
    }

    var html: String {
        let items = mails.withLock { $0 }.map { m -> String in
            let links = m.links.map { "<a class=\"action \(escapeHTML($0.name))\" href=\"\(escapeHTML($0.url))\" target=\"_blank\" rel=\"noreferrer\">\(escapeHTML($0.name.capitalized))</a>" }
                .joined(separator: " ")
            return "<article data-order=\"\(escapeHTML(m.orderId))\"><h2>\(escapeHTML(m.subject))</h2><p class=\"meta\">to manager@shop.example · \(m.sentAt.formatted(date: .omitted, time: .standard))</p><p>\(escapeHTML(m.body))</p><p>\(links)</p></article>"
        }.joined()
        return """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Manager's mailbox</title>
        <style>body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:44rem;color:#222}article{border:1px solid #ddd;border-radius:8px;padding:.8rem 1rem;margin:.8rem 0}h2{font-size:1.05rem;margin:.2rem 0}.meta{color:#777;font-size:13px;margin:0}a.action{display:inline-block;padding:.35rem .9rem;border-radius:5px;color:#fff;text-decoration:none;margin-right:.4rem}a.approve{background:#16a34a}a.deny{background:#dc2626}</style>
        </head><body><h1>Manager's mailbox</h1><p>Emails the workflow sent for orders above the approval threshold. The buttons are the
        one-time links the hub created: each opens a confirmation page; the first choice wins. <a href="/mailbox">Refresh</a></p>
        \(items.isEmpty ? "<p><em>No email yet: place an order that needs approval.</em></p>" : items)</body></html>
        """
    }
}

private func escapeHTML(_ s: String) -> String { HTMLText.escaped(s) }
