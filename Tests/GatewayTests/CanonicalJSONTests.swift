import GatewayCore
import Testing

/// The canonical JSON that receipts and log entries are signed over: keys in the order of their
/// UTF-8 bytes, no space, strings quoted as RFC 8259 asks — what any reader can make again.
@Suite struct CanonicalJSONTests {
    @Test func keysSortByTheirUTF8BytesAndNothingElseIsAdded() throws {
        let value = JSON.object([
            "b": .int(1), "a": .array([.null, .bool(true), .bool(false), .string("x\"y\\z\n\u{1}")]),
            "ä": .object(["z": .int(-3), "Z": .string("đảng")]), "A": .object([:]), "": .array([]), "aa": .int(-1_234_567_890_123),
        ])
        let text = #"{"":[],"A":{},"a":[null,true,false,"x\"y\\z\n\u0001"],"aa":-1234567890123,"b":1,"ä":{"Z":"đảng","z":-3}}"#
        #expect(value.canonical == text)
        // Read back and written again: the same text.
        #expect(try JSON(parsing: text).canonical == text)
    }
}
