import Foundation
import Testing

@testable import Desk

@Suite struct MultipartTests {
    func parse(_ body: String, boundary: String = "XyZ") throws -> [Multipart.Part] {
        let dir = NSTemporaryDirectory() + "desk-mp-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/body"
        FileManager.default.createFile(atPath: file, contents: Data(body.utf8))
        let parts = try Multipart.parse(file: file, boundary: boundary, into: dir)
        return try parts.map { p in
            var p = p
            if let path = p.path { p.value = try String(contentsOfFile: path, encoding: .utf8) }
            return p
        }
    }

    @Test func filesAndFieldsAreSplit() throws {
        let body =
            "--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntok\r\n"
            + "--XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"C:\\\\Users\\\\a\\\\members.csv\"\r\nContent-Type: text/csv\r\n\r\na,b\r\n1,2\r\n"
            + "--XyZ--\r\n"
        let parts = try parse(body)
        #expect(parts.count == 2)
        #expect(parts[0].name == "csrf" && parts[0].value == "tok")
        #expect(parts[1].filename == "members.csv")
        #expect(parts[1].value == "a,b\r\n1,2")
    }

    @Test func outOfShapeBodiesAreRefused() {
        let part = "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.csv\"\r\n\r\nx\r\n"
        #expect(throws: Multipart.Malformed.self) { try parse(String(repeating: part, count: Multipart.maxParts + 1) + "--XyZ--\r\n") }
        #expect(throws: Multipart.Malformed.self) { try parse("--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nnever closed") }
        #expect(throws: Multipart.Malformed.self) { try parse("--XyZ\r\n" + String(repeating: "X-A: b\r\n", count: 2000) + "\r\nx\r\n--XyZ--") }
        #expect(throws: Multipart.Malformed.self) { try parse("garbage--XyZ--") }
        #expect(throws: Multipart.Malformed.self) { try parse("--XyZ\r\nContent-Disposition: attachment; name=\"f\"\r\n\r\nx\r\n--XyZ--") }
        let big = String(repeating: "a", count: Multipart.maxFieldBytes + 1)
        #expect(throws: Multipart.Malformed.self) { try parse("--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n\(big)\r\n--XyZ--") }
    }

    @Test func boundaryIsCheckedAsRFC2046Allows() {
        #expect(Multipart.boundary(contentType: "multipart/form-data; boundary=----WebKitFormBoundaryAbc123") == "----WebKitFormBoundaryAbc123")
        #expect(Multipart.boundary(contentType: "multipart/form-data; boundary=\"a b\"") == "a b")
        #expect(Multipart.boundary(contentType: "multipart/form-data; boundary=" + String(repeating: "a", count: 71)) == nil)
        #expect(Multipart.boundary(contentType: "multipart/form-data; boundary=a\u{0}b") == nil)
        #expect(Multipart.boundary(contentType: "text/plain; boundary=abc") == nil)
    }

    @Test func formFieldsDecodeAndWipe() {
        let f = FormFields(Array("csrf=a%2Bb&passphrase=m%E1%BA%ADt+kh%E1%BA%A9u&x".utf8))
        #expect(f["csrf"] == "a+b")
        #expect(f["passphrase"] == "mật khẩu")
        #expect(f["x"] == "")
        f.wipe()
        #expect(f.bytes("passphrase")?.allSatisfy { $0 == 0 } == true)
    }
}
