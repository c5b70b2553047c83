import Foundation
import SealBase
import SealCrypto

/// A multipart/form-data body (RFC 7578), read from the file it was streamed into, with strict
/// bounds: the boundary as RFC 2046 allows it, at most `maxParts` parts, part heads of at most
/// 8 KiB, a file name of at most 255 bytes (only its last path component is kept). File parts are
/// written to `dir` under names the desk chooses; nothing outside it is ever written.
enum Multipart {
    struct Part: Sendable {
        /// The form field's name.
        var name: String
        /// The file name the browser sent (its last component), when it is a file.
        var filename: String?
        /// Where the content was written (file parts), or the content itself (small fields).
        var path: String?
        var value: String?
    }

    static let maxParts = 8
    static let maxHeadBytes = 8 << 10
    static let maxFieldBytes = 4 << 10

    struct Malformed: Error {
        let why: String
    }

    /// The boundary of a `multipart/form-data; boundary=…` content type, or nil.
    static func boundary(contentType: String) -> String? {
        let parts = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let first = parts.first, first.lowercased() == "multipart/form-data" else { return nil }
        for p in parts.dropFirst() {
            let kv = p.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, kv[0].lowercased() == "boundary" else { continue }
            var b = kv[1]
            if b.hasPrefix("\""), b.hasSuffix("\""), b.count >= 2 { b = String(b.dropFirst().dropLast()) }
            let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'()+_,-./:=? ")
            guard (1...70).contains(b.utf8.count), b.allSatisfy({ allowed.contains($0) }), !b.hasSuffix(" ") else { return nil }
            return b
        }
        return nil
    }

    /// Splits the body in `path` into its parts; file parts are copied into `dir` as
    /// `part-N` (the caller renames them). Throws `Malformed` for anything out of shape.
    static func parse(file path: String, boundary: String, into dir: String) throws -> [Part] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        let dash = Data("--\(boundary)".utf8)
        let delimiter = Data("\r\n--\(boundary)".utf8)
        guard data.starts(with: dash) else { throw Malformed(why: "the body does not start with the boundary") }
        var parts: [Part] = []
        var pos = data.startIndex + dash.count
        while true {
            // After a boundary: "--" ends the body, CRLF starts a part.
            guard pos + 2 <= data.endIndex else { throw Malformed(why: "the body ends inside a boundary") }
            if data[pos] == UInt8(ascii: "-"), data[pos + 1] == UInt8(ascii: "-") { break }
            guard data[pos] == 0x0D, data[pos + 1] == 0x0A else { throw Malformed(why: "a boundary is not followed by a line end") }
            pos += 2
            guard parts.count < maxParts else { throw Malformed(why: "more than \(maxParts) parts") }
            let headLimit = min(data.endIndex, pos + maxHeadBytes)
            guard let headEnd = data.range(of: Data("\r\n\r\n".utf8), in: pos..<headLimit) else {
                throw Malformed(why: "a part's head is longer than \(maxHeadBytes) bytes or unterminated")
            }
            let head = String(decoding: data[pos..<headEnd.lowerBound], as: UTF8.self)
            var part = try Self.head(head)
            let contentStart = headEnd.upperBound
            guard let end = data.range(of: delimiter, in: contentStart..<data.endIndex) else {
                throw Malformed(why: "a part is not closed by the boundary")
            }
            let content = data[contentStart..<end.lowerBound]
            if part.filename != nil {
                let out = "\(dir)/part-\(parts.count)"
                guard FileManager.default.createFile(atPath: out, contents: content, attributes: [.posixPermissions: 0o600]) else {
                    throw SealError(.ioError, "cannot write an uploaded file into the desk's work folder", remedy: "check the free disk space")
                }
                part.path = out
            } else {
                guard content.count <= maxFieldBytes else { throw Malformed(why: "a form field is longer than \(maxFieldBytes) bytes") }
                part.value = String(decoding: content, as: UTF8.self)
            }
            parts.append(part)
            pos = end.upperBound
        }
        return parts
    }

    /// A part's head: its Content-Disposition (form-data, a name, maybe a file name).
    static func head(_ text: String) throws -> Part {
        var name: String?
        var filename: String?
        for line in text.split(separator: "\r\n", omittingEmptySubsequences: false) {
            guard let colon = line.firstIndex(of: ":") else { throw Malformed(why: "a part's head line has no colon") }
            let field = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            guard field == "content-disposition" else { continue }
            let params = line[line.index(after: colon)...].split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard params.first?.lowercased() == "form-data" else { throw Malformed(why: "a part is not form-data") }
            for p in params.dropFirst() {
                guard let eq = p.firstIndex(of: "=") else { continue }
                let key = p[..<eq].lowercased()
                var v = String(p[p.index(after: eq)...])
                if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = String(v.dropFirst().dropLast()) }
                if key == "name" { name = v }
                if key == "filename" { filename = v }
            }
        }
        guard let name, !name.isEmpty, name.utf8.count <= 64 else { throw Malformed(why: "a part has no field name") }
        if let f = filename {
            // Browsers send the bare name; some old ones a path (either separator): its last component.
            let last = f.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
            guard last.utf8.count <= 255 else { throw Malformed(why: "a file name is longer than 255 bytes") }
            filename = last
        }
        return Part(name: name, filename: filename)
    }
}

/// An application/x-www-form-urlencoded body, decoded to bytes (a passphrase is taken from here
/// into `SecureBytes`, and `wipe()` zeroes what the form held).
final class FormFields: @unchecked Sendable {
    private(set) var fields: [(name: String, value: [UInt8])] = []

    init(_ body: [UInt8]) { fields = body.withUnsafeBytes { Self.parse($0) } }

    /// Decodes `body` where it lies (the request's buffer: no copy of it is made).
    init(raw body: UnsafeRawBufferPointer) { fields = Self.parse(body) }

    static func parse(_ body: UnsafeRawBufferPointer) -> [(name: String, value: [UInt8])] {
        var fields: [(name: String, value: [UInt8])] = []
        for pair in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let kv = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(decoding: decode(kv[0]), as: UTF8.self)
            fields.append((name, kv.count > 1 ? decode(kv[1]) : []))
        }
        return fields
    }

    init(pairs: [(String, String)]) { fields = pairs.map { ($0.0, Array($0.1.utf8)) } }

    /// The field's text (the first of that name), or nil.
    subscript(_ name: String) -> String? {
        fields.first { $0.name == name }.map { String(decoding: $0.value, as: UTF8.self) }
    }

    /// The field's bytes as `SecureBytes` (empty when absent), for a secret: copied straight from
    /// the form's own storage, which no other array shares, so that `wipe()` zeroes that storage
    /// in place (a copy taken first would make the wipe zero a copy-on-write copy instead).
    func secret(_ name: String) -> SecureBytes {
        guard let i = fields.firstIndex(where: { $0.name == name }) else { return SecureBytes(count: 0) }
        return fields[i].value.withUnsafeBytes { SecureBytes(copying: $0) }
    }

    /// The field's bytes (a copy sharing the form's storage: never for a secret; tests read a wiped form so).
    func bytes(_ name: String) -> [UInt8]? { fields.first { $0.name == name }?.value }

    /// Zeroes every value the form holds, in its own storage.
    func wipe() {
        for i in fields.indices {
            fields[i].value.withUnsafeMutableBytes { secureZero($0) }
        }
    }

    static func decode<C: RandomAccessCollection<UInt8>>(_ s: C) -> [UInt8] where C.Index == Int {
        var out = [UInt8]()
        out.reserveCapacity(s.count)
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            if c == UInt8(ascii: "+") {
                out.append(0x20)
            } else if c == UInt8(ascii: "%"), i + 2 < s.endIndex, let h = hex(s[i + 1]), let l = hex(s[i + 2]) {
                out.append(h << 4 | l)
                i += 2
            } else {
                out.append(c)
            }
            i += 1
        }
        return out
    }

    static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
}
