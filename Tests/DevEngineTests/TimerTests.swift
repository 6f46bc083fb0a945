import Foundation
import Testing
import HubBytes
@testable import DevEngine

/// A message catch (approval) and a service task, each with an interrupting timer boundary.
let timerBPMN = Array("""
<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:receiveTask id="Wait" messageRef="M"/>
    <bpmn:boundaryEvent id="Expired" attachedToRef="Wait"><bpmn:timerEventDefinition><bpmn:timeDuration>PT48H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
    <bpmn:serviceTask id="Work"><bpmn:extensionElements><zeebe:taskDefinition type="work"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:boundaryEvent id="TooSlow" attachedToRef="Work"><bpmn:timerEventDefinition><bpmn:timeDuration>PT10S</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
    <bpmn:serviceTask id="OnExpiry"><bpmn:extensionElements><zeebe:taskDefinition type="expired"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:serviceTask id="OnSlow"><bpmn:extensionElements><zeebe:taskDefinition type="slow"/></bpmn:extensionElements></bpmn:serviceTask>
    <bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/><bpmn:endEvent id="e3"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="Wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Wait" targetRef="Work"/>
    <bpmn:sequenceFlow id="f3" sourceRef="Work" targetRef="e1"/>
    <bpmn:sequenceFlow id="f4" sourceRef="Expired" targetRef="OnExpiry"/>
    <bpmn:sequenceFlow id="f5" sourceRef="OnExpiry" targetRef="e2"/>
    <bpmn:sequenceFlow id="f6" sourceRef="TooSlow" targetRef="OnSlow"/>
    <bpmn:sequenceFlow id="f7" sourceRef="OnSlow" targetRef="e3"/>
  </bpmn:process>
  <bpmn:message id="M" name="decision"><bpmn:extensionElements><zeebe:subscription correlationKey="=id"/></bpmn:extensionElements></bpmn:message>
</bpmn:definitions>
""".utf8)

@Suite struct TimerBoundaries {
    @Test func aTimerOnAMessageCatchFiresAtItsDueTimeAndNotBefore() throws {
        var h = try Harness(timerBPMN)
        _ = try h.start("p", ["id": "a"])
        h.now += 48 * 3_600_000 - 1
        h.engine.tick(nowMs: h.now)
        #expect(h.activate("expired").isEmpty)
        h.now += 1
        h.engine.tick(nowMs: h.now)
        #expect(h.activate("expired").count == 1)
        // The subscription went with the interrupted element: a late message correlates nothing.
        #expect(throws: EngineError.self) {
            try h.engine.correlateMessage(name: "decision", correlationKey: "a", variables: [:], nowMs: h.now).get()
        }
    }

    @Test func aMessageBeforeTheTimerCancelsIt() throws {
        var h = try Harness(timerBPMN)
        _ = try h.start("p", ["id": "b"])
        _ = try h.engine.correlateMessage(name: "decision", correlationKey: "b", variables: [:], nowMs: h.now).get()
        // `Work` started with the message: its own 10 s timer counts from then and drops its job.
        h.now += 9_999
        h.engine.tick(nowMs: h.now)
        #expect(h.activate("work", timeoutMs: 60_000).count == 1)
        h.now += 1
        h.engine.tick(nowMs: h.now)
        #expect(h.activate("slow").count == 1)
        #expect(h.activate("work").isEmpty)
        h.now += 49 * 3_600_000
        h.engine.tick(nowMs: h.now)
        #expect(h.activate("expired").isEmpty, "the approval's timer went with the approval")
    }

    @Test func timersOutsideTheSubsetAreRefusedNamingTheElement() {
        let cases = [
            ("<bpmn:boundaryEvent id=\"B\" attachedToRef=\"Wait\"><bpmn:timerEventDefinition><bpmn:timeCycle>R5/PT1H</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:boundaryEvent>", "timeCycle"),
            ("<bpmn:boundaryEvent id=\"B\" attachedToRef=\"Wait\"><bpmn:timerEventDefinition><bpmn:timeDate>2027-01-01T00:00:00</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:boundaryEvent>", "with a zone"),
            ("<bpmn:boundaryEvent id=\"B\" attachedToRef=\"Wait\"><bpmn:timerEventDefinition><bpmn:timeDuration>=delay &gt;</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>", "timeDuration"),
            ("<bpmn:boundaryEvent id=\"B\" attachedToRef=\"Wait\"><bpmn:timerEventDefinition><bpmn:timeDuration>P1M</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>", "ISO-8601 duration"),
        ]
        for (boundary, reason) in cases {
            let text = String(decoding: timerBPMN, as: UTF8.self).replacingOccurrences(of: "<bpmn:endEvent id=\"e1\"/>", with: boundary + "<bpmn:endEvent id=\"e1\"/>")
            var engine = EngineCore()
            guard case .failure(let e) = engine.deploy([.init(name: "p.bpmn", bytes: Array(text.utf8))]) else { Issue.record("deployed: \(reason)"); continue }
            #expect(e.detail.contains("'B'") && e.detail.contains(reason), "\(e.detail)")
        }
    }

    @Test func isoDateTimes() {
        #expect(ISODateTime.milliseconds("1970-01-01T00:00:00Z") == 0)
        #expect(ISODateTime.milliseconds("2026-12-02T17:00:00Z") == 1_796_230_800_000)
        #expect(ISODateTime.milliseconds("2026-12-02T18:00:00.25+01:00") == 1_796_230_800_250)
        #expect(ISODateTime.milliseconds("2024-02-29T00:00:00-00:30") == 1_709_166_600_000)
        for bad in ["", "2026-12-02", "2026-12-02T17:00:00", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-12-02T24:00:00Z",
                    "2026-12-02T17:00:00.Z", "2026-12-02T17:00:00+1:00", "2026-12-02T17:00:00Zjunk"] {
            #expect(ISODateTime.milliseconds(bad) == nil, "\(bad)")
        }
    }

    @Test func isoDurations() {
        #expect(ISODuration.milliseconds("PT48H") == 172_800_000)
        #expect(ISODuration.milliseconds("P2DT3H30M") == Int64(185_400_000))
        #expect(ISODuration.milliseconds("PT1.5S") == 1_500)
        for bad in ["", "P", "PT", "P1DT", "PT5", "P1M", "P1Y", "PT1D", "48H", "PTxS", "P0D"] { #expect(ISODuration.milliseconds(bad) == nil, "\(bad)") }
    }
}

@Suite struct Deployments {
    @Test func theSameBytesDeployedAgainAreTheSameVersionAndAChangeIsANewOne() throws {
        var engine = EngineCore()
        let first = try engine.deploy([.init(name: "p.bpmn", bytes: timerBPMN)]).get().definitions[0]
        let again = try engine.deploy([.init(name: "p.bpmn", bytes: timerBPMN)]).get().definitions[0]
        #expect(again.key == first.key && again.version == 1)
        let changed = Array(String(decoding: timerBPMN, as: UTF8.self).replacingOccurrences(of: "PT10S", with: "PT20S").utf8)
        let next = try engine.deploy([.init(name: "p.bpmn", bytes: changed)]).get().definitions[0]
        #expect(next.version == 2 && next.key != first.key)
        // Back to the first bytes: they are not the latest any more, so a new version (as Zeebe does).
        #expect(try engine.deploy([.init(name: "p.bpmn", bytes: timerBPMN)]).get().definitions[0].version == 3)
    }
}
