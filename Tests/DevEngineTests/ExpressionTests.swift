import Testing
import HubBytes
@testable import DevEngine

private func eval(_ source: String, _ vars: [String: JSONValue]) -> JSONValue {
    try! Expression.parse(source).get().evaluate(vars)
}

@Suite struct FEELSubset {
    @Test func comparesNumbersAsNumbers() {
        #expect(eval("=x > 5", ["x": 7]) == .bool(true))
        #expect(eval("=x > 5", ["x": 5]) == .bool(false))
        #expect(eval("=x >= 5.0", ["x": 5]) == .bool(true))
        #expect(eval("=x != 2", ["x": 3]) == .bool(true))
        #expect(eval("=x < -1", ["x": .number("-2")]) == .bool(true))
    }

    @Test func comparesStringsAndBooleans() {
        #expect(eval("=status = \"ok\"", ["status": "ok"]) == .bool(true))
        #expect(eval("=status = \"ok\"", ["status": "no"]) == .bool(false))
        #expect(eval("=approved = true", ["approved": true]) == .bool(true))
    }

    @Test func combinesWithAndOrNotAndParentheses() {
        let vars: [String: JSONValue] = ["a": 1, "b": "x", "c": false]
        #expect(eval("=a = 1 and b = \"x\"", vars) == .bool(true))
        #expect(eval("=a = 2 or b = \"x\"", vars) == .bool(true))
        #expect(eval("=not(c) and (a > 0 or b = \"y\")", vars) == .bool(true))
        #expect(eval("=a = 2 and b = \"x\" or c = false", vars) == .bool(true))
    }

    @Test func readsNestedPaths() {
        #expect(eval("=order.total >= 100", ["order": ["total": 150]]) == .bool(true))
        #expect(eval("=order.customer.tier = \"gold\"", ["order": ["customer": ["tier": "gold"]]]) == .bool(true))
    }

    @Test func missingVariablesAreNullAndComparingAcrossTypesIsNotTrue() {
        #expect(eval("=x > 5", [:]) == .null)
        #expect(eval("=x = null", [:]) == .bool(true))
        #expect(eval("=x > 5", ["x": "7"]) == .null)
        #expect(eval("=x = 5", ["x": "5"]) != .bool(true))
    }

    @Test func aValueExpressionYieldsTheValue() {
        #expect(eval("=orderId", ["orderId": "o-1"]) == .string("o-1"))
        #expect(eval("static-key", [:]) == .string("static-key"))
    }

    @Test func syntaxOutsideTheSubsetIsRefusedWithTheSource() {
        for bad in ["=x +", "=x > ", "=(a", "=\"open", "=x in [1,2]", "=a > 1 extra", "=count(items) > 1"] {
            guard case .failure(let e) = Expression.parse(bad) else { Issue.record("accepted \(bad)"); continue }
            #expect(e.message.contains(bad))
        }
    }
}

@Suite struct XML {
    @Test func readsElementsAttributesEntitiesAndCDATA() throws {
        let doc = #"<?xml version="1.0"?><!-- c --><a:root x='1' y="&lt;&amp;&#65;&#x42;"><b>t&gt;</b><c><![CDATA[x < y & z]]></c><d/></a:root>"#
        let root = try XMLReader.parse(Array(doc.utf8)).get()
        #expect(root.name == "root")
        #expect(root.attribute("y") == "<&AB")
        #expect(root.child(named: "b")?.text == "t>")
        #expect(root.child(named: "c")?.text == "x < y & z")
        #expect(root.children.count == 3)
    }

    @Test func refusesDTDsMismatchedTagsAndDeepNesting() {
        let bad = [
            "<!DOCTYPE x [<!ENTITY a \"b\">]><x/>", "<a><b></a></b>", "<a x=1/>", "<a>&unknown;</a>", "<a", "<a/><b/>",
            String(repeating: "<a>", count: 100) + String(repeating: "</a>", count: 100),
        ]
        for doc in bad {
            if case .success = XMLReader.parse(Array(doc.utf8)) { Issue.record("accepted \(doc.prefix(40))") }
        }
    }
}
