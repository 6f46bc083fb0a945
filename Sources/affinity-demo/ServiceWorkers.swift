// The workflow's service tasks, with the delays and failures of real services:
//   payment   100–500 ms; declines totals over 1000 or `simulate.decline` (BPMN error PAYMENT_DECLINED)
//   inventory 50–300 ms; out of stock for "unobtainium" or `simulate.outOfStock`
//   send-approval-email  puts the approve/deny links in the manager's mailbox
//   approval-expired     notes why the order failed when nobody decided in time
// (The shipping label is an http-callback task: LabelService.)
// Each attempt fails transiently with probability `flakiness`; the engine offers it again 200 ms later.
import CamundaClient
import Foundation
import HubBytes

struct ServiceWorker: Sendable {
    let type: String
    let handle: @Sendable (ActivatedJob) async -> JobOutcome
}

enum ServiceWorkers {
    static func all(flakiness: Double, mailbox: Mailbox, approvalTimeout: String) -> [ServiceWorker] {
        @Sendable func flaky(_ job: ActivatedJob) -> Bool {
            // Deterministic runs for tests: simulate.reliable turns flakiness off; the last retry always goes through.
            if job.variables["simulate"]?["reliable"]?.boolValue == true || job.retries <= 1 { return false }
            return Double.random(in: 0..<1) < flakiness
        }
        @Sendable func pause(_ lo: Int, _ hi: Int) async { try? await Task.sleep(for: .milliseconds(Int.random(in: lo...hi))) }
        @Sendable func simulate(_ job: ActivatedJob, _ name: String) -> JSONValue? { job.variables["simulate"]?[name] }

        let payment = ServiceWorker(type: "payment") { job in
            await pause(100, 500)
            if flaky(job) { return .fail(retries: job.retries - 1, message: "payment provider timed out", backOff: .milliseconds(200)) }
            let quantity = job.variables["quantity"]?.intValue ?? 1
            let price = job.variables["unitPrice"]?.doubleValue ?? 25
            let total = Double(quantity) * price
            if simulate(job, "decline")?.boolValue == true || total > 1000 {
                return .bpmnError(code: "PAYMENT_DECLINED", message: "card declined",
                                  variables: ["reason": .string("payment declined for \(total)")])
            }
            return .complete(["total": JSONValue(total), "paymentId": .string("pay-\(UInt32.random(in: 0...UInt32.max))")])
        }
        let inventory = ServiceWorker(type: "inventory") { job in
            await pause(50, 300)
            if flaky(job) { return .fail(retries: job.retries - 1, message: "inventory service unavailable", backOff: .milliseconds(200)) }
            let item = job.variables["item"]?.stringValue ?? ""
            if simulate(job, "outOfStock")?.boolValue == true || item == "unobtainium" {
                return .complete(["inStock": false, "reason": .string("\(item) is out of stock")])
            }
            return .complete(["inStock": true, "reservationId": .string("res-\(UInt32.random(in: 0...UInt32.max))")])
        }
        let email = ServiceWorker(type: "send-approval-email") { job in
            let v = job.variables
            let orderId = v["orderId"]?.stringValue ?? "?"
            let links = (v["actionLinks"]?.objectValue ?? [:]).compactMap { name, url in url.stringValue.map { (name: name, url: $0) } }
                .sorted { $0.name < $1.name }
            let total = v["total"].map { $0.serialized() } ?? "?"
            mailbox.deliver(Mailbox.Mail(orderId: orderId, subject: "Approve order \(orderId)?",
                                         body: "\(v["quantity"].map { $0.serialized() } ?? "?") × \(v["item"]?.stringValue ?? "?") for \(total) EUR is above the approval threshold.",
                                         links: links, sentAt: Date()))
            return .complete()
        }
        let expired = ServiceWorker(type: "approval-expired") { _ in
            .complete(["reason": .string("no manager decision within \(approvalTimeout)")])
        }
        return [payment, inventory, email, expired]
    }
}
