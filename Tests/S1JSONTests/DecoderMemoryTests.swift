import Testing
@testable import S1JSON

/// The decoder's working memory per document is a small multiple of its size (issue 11,
/// item 5): checked on the node storage, deterministically, for documents made of the
/// tiniest values JSON has.
@Suite struct DecoderMemoryTests {
    static let shapes: [(name: String, element: String)] = [
        ("numbers", "0"), ("empty arrays", "[]"), ("empty objects", "{}"), ("empty strings", #""""#), ("members", #"{"":0}"#),
    ]

    @Test(arguments: shapes.map(\.name))
    func tapeOfTinyValuesIsAtMostSixTimesTheDocument(shape: String) throws {
        let element = Self.shapes.first { $0.name == shape }!.element
        let repeats = (1 << 20) / (element.utf8.count + 1)
        let text = #"{"data":{"threatInfo":{"threatId":"1"},"x":["# + Array(repeating: element, count: repeats).joined(separator: ",") + "]}}"
        let bytes = Array(text.utf8)
        let document = try JSONDocument(bytes: bytes)
        let tapeBytes = document.tape.capacity * MemoryLayout<JSONDocument.Node>.stride
        // (+ a page or two: the allocation is rounded up to whole pages.)
        #expect(tapeBytes <= 6 * bytes.count + 8192, "\(shape): \(tapeBytes) bytes of nodes for a \(bytes.count)-byte document")
        // And the document reads as before.
        #expect(document.root["data"]?["x"]?.count == repeats)
        #expect(document.root["data"]?["threatInfo"]?["threatId"]?.string == "1")
        #expect(document.root["data"]?.count == 2)
    }

    @Test func nodesAreTwelveBytesAndDocumentsUpTo256MiBAreAccepted() throws {
        #expect(MemoryLayout<JSONDocument.Node>.stride == 12)
        let document = try JSONDocument(text: #"{"s": "a\"b", "n": -1.5e3, "t": true, "z": null, "a": [1, {"k": []}]}"#)
        #expect(document.root["s"]?.string == "a\"b")
        #expect(document.root["n"]?.rawText == "-1.5e3")
        #expect(document.root["t"]?.bool == true)
        #expect(document.root["z"]?.isNull == true)
        #expect(document.root["a"]?.elements.last?["k"]?.kind == .array)
        #expect(document.root.count == 5)
    }
}
