import SealBase

/// One recipient stanza of an age header: `-> type args…` and a base64 body.
public struct AgeStanza: Sendable {
    public let type: String
    public let arguments: [String]
    public let body: [UInt8]

    public init(type: String, arguments: [String], body: [UInt8]) {
        self.type = type
        self.arguments = arguments
        self.body = body
    }

    /// The stanza's canonical text: arguments line, then the body wrapped at 64 columns with a
    /// final short (possibly empty) line.
    var encoded: [UInt8] {
        var out = Array("-> ".utf8) + Array(([type] + arguments).joined(separator: " ").utf8) + [0x0A]
        let b64 = Array(Base64.encode(body, padded: false).utf8)
        var i = 0
        while i + 64 <= b64.count {
            out += b64[i..<(i + 64)] + [0x0A]
            i += 64
        }
        out += b64[i...] + [0x0A]
        return out
    }
}

/// A parsed age v1 header.
public struct AgeHeader: Sendable {
    public static let versionLine = "age-encryption.org/v1"
    /// Largest header we read (many stanzas are legitimate, megabytes are not).
    public static let maxBytes = 1 << 20

    public let stanzas: [AgeStanza]
    /// The bytes the header MAC covers: everything up to and including `---`.
    public let macInput: [UInt8]
    public let mac: [UInt8]
    /// Total encoded length, including the MAC line's LF.
    public var encodedLength: Int { macInput.count + 1 + 43 + 1 }

    /// The `age_header_malformed` error with a reason.
    public static func malformed(_ why: String) -> SealError {
        SealError(
            .ageHeaderMalformed, "age header is malformed: \(why)",
            remedy: "the encrypted payload is damaged or was not written by an age v1 tool; ask the sender to seal it again")
    }

    /// Builds the header for `stanzas` under `fileKey`: text and MAC.
    public static func build(stanzas: [AgeStanza], fileKey: SecureBytes) throws -> (header: AgeHeader, bytes: [UInt8]) {
        var text = Array("\(versionLine)\n".utf8)
        for s in stanzas { text += s.encoded }
        text += Array("---".utf8)
        let macKey = try HKDFSHA256.derive(ikm: fileKey, salt: [], info: Array("header".utf8), length: 32)
        let mac = try HMACSHA256.authenticate(key: macKey, message: text)
        let header = AgeHeader(stanzas: stanzas, macInput: text, mac: mac)
        return (header, text + Array(" \(Base64.encode(mac, padded: false))\n".utf8))
    }

    private init(stanzas: [AgeStanza], macInput: [UInt8], mac: [UInt8]) {
        self.stanzas = stanzas
        self.macInput = macInput
        self.mac = mac
    }

    private static func isVChar(_ c: UInt8) -> Bool { c >= 33 && c <= 126 }

    /// Most stanzas a header may carry unless the caller says otherwise.
    public static let defaultMaxStanzas = 4096

    /// Parses a header strictly from `reader`, leaving the reader at the payload nonce; more than
    /// `maxStanzas` recipient stanzas is malformed (each may cost an X25519 per identity).
    /// Throws `age_header_malformed` or `age_unsupported_version`.
    public static func parse(_ reader: BufferedReader, maxStanzas: Int = defaultMaxStanzas) throws -> AgeHeader {
        var macInput = [UInt8]()
        var stanzas = [AgeStanza]()
        func line() throws -> [UInt8] {
            guard let l = try reader.readLine(maxLength: 64 * 1024, tooLong: malformed("line too long")) else {
                throw malformed("unexpected end of header")
            }
            guard l.last == 0x0A else { throw malformed("unexpected end of header") }
            if macInput.count + l.count > maxBytes { throw malformed("header larger than \(maxBytes) bytes") }
            return Array(l.dropLast())
        }
        let version = try line()
        guard version == Array(versionLine.utf8) else {
            if version.starts(with: Array("age-encryption.org/".utf8)) {
                throw SealError(.ageUnsupportedVersion, "unsupported age version", remedy: "seal with an age v1 tool")
            }
            throw malformed("not an age v1 file")
        }
        macInput += version + [0x0A]
        var current = try line()
        while true {
            if current.starts(with: Array("---".utf8)) {
                // MAC line: exactly "--- " + 43 chars of canonical unpadded base64.
                guard current.count == 4 + 43, current[3] == 0x20 else { throw malformed("bad MAC line") }
                var mac = [UInt8](repeating: 0, count: 33)
                let n = current[4...].withUnsafeBytes { src in mac.withUnsafeMutableBytes { Base64.decode(src, padded: false, into: $0) } }
                guard n == 32 else { throw malformed("bad MAC encoding") }
                macInput += Array("---".utf8)
                return AgeHeader(stanzas: stanzas, macInput: macInput, mac: Array(mac.prefix(32)))
            }
            guard current.starts(with: Array("-> ".utf8)) else { throw malformed("expected a stanza or the MAC line") }
            macInput += current + [0x0A]
            let argsText = current.dropFirst(3)
            let args = argsText.split(separator: 0x20, omittingEmptySubsequences: false)
            guard !args.isEmpty, args.allSatisfy({ !$0.isEmpty && $0.allSatisfy(isVChar) }) else { throw malformed("bad stanza arguments") }
            // Body: full 64-column lines, then one short line (possibly empty).
            var bodyText = [UInt8]()
            while true {
                let l = try line()
                macInput += l + [0x0A]
                guard l.count <= 64 else { throw malformed("stanza body line longer than 64 columns") }
                bodyText += l
                if l.count < 64 { break }
            }
            var body = [UInt8](repeating: 0, count: bodyText.count / 4 * 3 + 3)
            let n = bodyText.withUnsafeBytes { src in body.withUnsafeMutableBytes { Base64.decode(src, padded: false, into: $0) } }
            guard let n else { throw malformed("stanza body is not canonical base64") }
            let strings = args.map { String(decoding: $0, as: UTF8.self) }
            stanzas.append(AgeStanza(type: strings[0], arguments: Array(strings.dropFirst()), body: Array(body.prefix(n))))
            if stanzas.count > maxStanzas { throw malformed("more than \(maxStanzas) recipient stanzas") }
            current = try line()
        }
    }

    /// Finds the file key with the first identity that matches. Throws `age_no_matching_identity`
    /// when none does, `age_unsupported_recipient` for passphrase (scrypt) files, and
    /// `age_header_malformed` for malformed stanzas of a known type.
    public func unwrapFileKey(identities: [any AgeIdentity]) throws -> SecureBytes {
        let scryptCount = stanzas.filter { $0.type == "scrypt" }.count
        if scryptCount > 0 && stanzas.count != 1 {
            throw AgeHeader.malformed("an scrypt stanza must be alone in the header")
        }
        for identity in identities {
            if let key = try identity.unwrap(stanzas: stanzas) {
                guard key.count == 16 else { throw AgeHeader.malformed("file key is not 16 bytes") }
                return key
            }
        }
        if scryptCount == 1 && !identities.contains(where: { $0 is AgeScryptIdentity }) {
            throw SealError(
                .ageUnsupportedRecipient, "this age file is passphrase-encrypted (scrypt recipient); only X25519 recipients are supported",
                remedy: "ask the sender to encrypt to your age1… recipient instead of a passphrase")
        }
        throw SealError(
            .ageNoMatchingIdentity, "none of the given identities can decrypt this file",
            remedy: "use the identity whose recipient the file was sealed to (check `sealgate inspect` for the recipients' fingerprints)")
    }

    /// Checks the header MAC under `fileKey`. Throws `age_header_mac_mismatch`.
    public func verifyMAC(fileKey: SecureBytes) throws {
        let macKey = try HKDFSHA256.derive(ikm: fileKey, salt: [], info: Array("header".utf8), length: 32)
        let expected = try HMACSHA256.authenticate(key: macKey, message: macInput)
        guard constantTimeEqual(expected, mac) else {
            throw SealError(
                .ageHeaderMACMismatch, "age header MAC does not verify", remedy: "the header was altered; ask the sender to seal it again")
        }
    }
}

/// Something that can encrypt a file key to its holder.
public protocol AgeRecipient: Sendable {
    func wrap(fileKey: SecureBytes) throws -> AgeStanza
}

/// Something that can recover a file key from a stanza addressed to it.
public protocol AgeIdentity: Sendable {
    /// The file key, or nil when no stanza is addressed to this identity.
    func unwrap(stanzas: [AgeStanza]) throws -> SecureBytes?
}
