import Foundation
import Testing
@testable import DevEngine

let demoBPMN: [UInt8] = {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../demo/order-fulfilment.bpmn")
    return [UInt8](try! Data(contentsOf: url))
}()

func process(_ body: String, extra: String = "") -> [UInt8] {
    Array("""
    <?xml version="1.0" encoding="UTF-8"?>
    <bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d">
      <bpmn:process id="p" isExecutable="true">\(body)</bpmn:process>\(extra)
    </bpmn:definitions>
    """.utf8)
}

func deployError(_ bytes: [UInt8]) -> String? {
    if case .failure(let e) = BPMNParser.parse(bytes, resourceName: "t.bpmn") { return e.message }
    return nil
}

@Suite struct BPMNSubset {
    @Test func readsTheDemoModelAsTheModelerWroteIt() throws {
        let models = try BPMNParser.parse(demoBPMN, resourceName: "order-fulfilment.bpmn").get()
        #expect(models.count == 1)
        let m = models[0]
        #expect(m.processId == "order-fulfilment")
        guard case .serviceTask(let publish) = m.elements["PublishFailed"]?.kind else { Issue.record("no publish task"); return }
        #expect(publish.type == "publish-outcome")
        #expect(publish.headers["affinityStatus"] == "failed")
        guard case .error(let code)? = m.boundaries["ChargePayment"]?.first?.trigger else { Issue.record("no error boundary"); return }
        #expect(code == "PAYMENT_DECLINED")
        #expect(m.diagram.shapes["ChargePayment"]?.width == 100, "the diagram is read from the file's BPMN DI")
        #expect(m.diagram.edges["Flow_toPayment"]?.count == 2)
        guard case .exclusiveGateway(let def) = m.elements["InStock"]?.kind else { Issue.record("no gateway"); return }
        #expect(def == "Flow_outOfStock")
    }

    @Test func refusesElementsOutsideTheSubsetNamingThem() {
        let inclusive = process(#"<bpmn:startEvent id="s"/><bpmn:inclusiveGateway id="Fork"/><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="Fork"/>"#)
        #expect(deployError(inclusive)?.contains("inclusiveGateway 'Fork'") == true)
        let noTimer = process(#"<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="Wait"><bpmn:timerEventDefinition/></bpmn:intermediateCatchEvent>"#)
        #expect(deployError(noTimer)?.contains("'Wait'") == true)
        let cycle = process(#"<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="Every"><bpmn:timerEventDefinition><bpmn:timeCycle>R3/PT1H</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"#)
        #expect(deployError(cycle)?.contains("timeCycle") == true)
        let io = process(#"<bpmn:startEvent id="s"/><bpmn:serviceTask id="T"><bpmn:extensionElements><zeebe:taskDefinition type="x"/><zeebe:ioMapping/></bpmn:extensionElements></bpmn:serviceTask>"#)
        #expect(deployError(io)?.contains("zeebe:ioMapping") == true)
        let sub = process(#"<bpmn:startEvent id="s"/><bpmn:subProcess id="Sub"/>"#)
        #expect(deployError(sub)?.contains("subProcess 'Sub'") == true)
        let escalation = process(#"<bpmn:startEvent id="s"/><bpmn:endEvent id="E"><bpmn:escalationEventDefinition/></bpmn:endEvent>"#)
        #expect(deployError(escalation)?.contains("escalationEventDefinition") == true)
        let onEvent = process(#"<bpmn:startEvent id="s"/><bpmn:intermediateCatchEvent id="W"><bpmn:signalEventDefinition signalRef="S"/></bpmn:intermediateCatchEvent><bpmn:boundaryEvent id="B" attachedToRef="W"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>"#, extra: #"<bpmn:signal id="S" name="go"/>"#)
        #expect(deployError(onEvent)?.contains("not an activity") == true)
    }

    @Test func refusesModelsThatCannotRunFaithfully() {
        let noType = process(#"<bpmn:startEvent id="s"/><bpmn:serviceTask id="T"/><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="T"/>"#)
        #expect(deployError(noType)?.contains("taskDefinition") == true)
        let conditional = process(#"<bpmn:startEvent id="s"/><bpmn:endEvent id="a"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="a"><bpmn:conditionExpression>=x</bpmn:conditionExpression></bpmn:sequenceFlow>"#)
        #expect(deployError(conditional)?.contains("not an exclusive gateway") == true)
        let unconditional = process(#"<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="g"/><bpmn:endEvent id="a"/><bpmn:endEvent id="b"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="g"/><bpmn:sequenceFlow id="f1" sourceRef="g" targetRef="a"/><bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="b"/>"#)
        #expect(deployError(unconditional)?.contains("needs a condition") == true)
        let badCondition = process(#"<bpmn:startEvent id="s"/><bpmn:exclusiveGateway id="g" default="f2"/><bpmn:endEvent id="a"/><bpmn:endEvent id="b"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="g"/><bpmn:sequenceFlow id="f1" sourceRef="g" targetRef="a"><bpmn:conditionExpression>=x &gt;</bpmn:conditionExpression></bpmn:sequenceFlow><bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="b"/>"#)
        #expect(deployError(badCondition)?.contains("f1") == true)
        let twoStarts = process(#"<bpmn:startEvent id="s1"/><bpmn:startEvent id="s2"/>"#)
        #expect(deployError(twoStarts)?.contains("2 none start events") == true)
        let dangling = process(#"<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="nowhere"/>"#)
        #expect(deployError(dangling)?.contains("nowhere") == true)
        #expect(deployError(Array("not xml".utf8)) != nil)
    }

    @Test func refusesDuplicateIdsOfFlowsAsOfElements() {
        // Found by FuzzEngineInput: a flow listed twice into a parallel join crashed the engine.
        let twiceIntoAJoin = process(#"<bpmn:startEvent id="s"/><bpmn:parallelGateway id="fork"/><bpmn:userTask id="a"/><bpmn:userTask id="b"/><bpmn:parallelGateway id="join"/><bpmn:endEvent id="e"/><bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="fork"/><bpmn:sequenceFlow id="f1" sourceRef="fork" targetRef="a"/><bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="b"/><bpmn:sequenceFlow id="fa" sourceRef="a" targetRef="join"/><bpmn:sequenceFlow id="fa" sourceRef="a" targetRef="join"/><bpmn:sequenceFlow id="fb" sourceRef="b" targetRef="join"/><bpmn:sequenceFlow id="f3" sourceRef="join" targetRef="e"/>"#)
        #expect(deployError(twiceIntoAJoin)?.contains("duplicate id 'fa'") == true)
        let flowNamedLikeATask = process(#"<bpmn:startEvent id="s"/><bpmn:endEvent id="e"/><bpmn:sequenceFlow id="s" sourceRef="s" targetRef="e"/>"#)
        #expect(deployError(flowNamedLikeATask)?.contains("duplicate id 's'") == true)
    }
}
