internal import CPKCS11
import SealBase
import Synchronization
import SystemIO

#if canImport(Glibc)
    import Glibc
#endif

/// A PKCS#11 URI (RFC 7512) naming a signing key on a token: `pkcs11:token=…;object=…` (path
/// attributes `token`, `object`, `id`, `serial`, `slot-id`, `type`; percent-encoded values), with
/// an optional query `?module-path=…`. Nothing else is taken: a PIN never travels in a URI here
/// (`pin-value` is refused), it comes from a file, the environment or a prompt.
public struct Pkcs11URI: Sendable, Equatable, CustomStringConvertible {
    public var token: String?
    public var object: String?
    public var id: [UInt8]?
    public var serial: String?
    public var slotId: UInt?
    public var modulePath: String?
    /// The URI as given (it holds no secret).
    public let text: String

    public var description: String { text }

    public static func isURI(_ text: String) -> Bool { text.hasPrefix("pkcs11:") }

    /// Parses `text`; throws `usage` naming the attribute that is not understood.
    public init(_ text: String) throws {
        self.text = text
        func bad(_ why: String) -> SealError {
            SealError(.usage, "not a PKCS#11 URI for a signing key: \(why)", remedy: "write it as pkcs11:token=LABEL;object=KEY-LABEL (RFC 7512)")
        }
        guard text.hasPrefix("pkcs11:"), text.utf8.count <= 4096 else { throw bad("it must start with pkcs11:") }
        let rest = text.dropFirst("pkcs11:".count)
        let parts = rest.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        func decode(_ v: Substring) throws -> [UInt8] {
            var out: [UInt8] = []
            var bytes = Array(v.utf8)[...]
            while let c = bytes.popFirst() {
                if c == UInt8(ascii: "%") {
                    let hex = Array(bytes.prefix(2))
                    guard hex.count == 2, hex.allSatisfy({ (0x30...0x39).contains($0) || (0x41...0x46).contains($0) || (0x61...0x66).contains($0) }),
                        let b = UInt8(String(decoding: hex, as: UTF8.self), radix: 16)
                    else {
                        throw bad("a % is not followed by two hex digits")
                    }
                    out.append(b)
                    bytes = bytes.dropFirst(2)
                } else {
                    out.append(c)
                }
            }
            return out
        }
        func string(_ v: Substring) throws -> String {
            guard let s = String(validating: try decode(v), as: UTF8.self) else { throw bad("a value is not UTF-8") }
            return s
        }
        // An attribute is never echoed whole (a mistyped pin-value would show the PIN): only its
        // name, and only a name made of the URI grammar's letters.
        func named(_ k: Substring) -> String { k.allSatisfy { $0.isLetter || $0 == "-" } && k.count <= 32 ? String(k) : "(unreadable)" }
        var seen = Set<Substring>()
        for (n, attribute) in parts[0].split(separator: ";").enumerated() where !attribute.isEmpty {
            let kv = attribute.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2 else { throw bad("path attribute \(n + 1) has no value") }
            guard seen.insert(kv[0]).inserted else { throw bad("the attribute \(named(kv[0])) is given twice") }
            switch kv[0] {
            case "token": token = try string(kv[1])
            case "object": object = try string(kv[1])
            case "id": id = try decode(kv[1])
            case "serial": serial = try string(kv[1])
            case "slot-id":
                guard !kv[1].isEmpty, kv[1].allSatisfy({ ("0"..."9").contains($0) }), let n = UInt(kv[1]) else {
                    throw bad("slot-id is not a number")
                }
                slotId = n
            case "type":
                guard kv[1] == "private" else { throw bad("type must be private (the signing key)") }
            case "manufacturer", "model", "library-manufacturer", "library-description", "library-version", "slot-description",
                "slot-manufacturer":
                continue
            default: throw bad("the attribute \(named(kv[0])) is not understood")
            }
        }
        if parts.count == 2 {
            for (n, q) in parts[1].split(separator: "&").enumerated() where !q.isEmpty {
                let kv = q.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard !q.hasPrefix("pin-") else {
                    throw bad("a PIN is never taken from the URI: give it in a file, the environment or at the prompt")
                }
                guard kv.count == 2 else { throw bad("query attribute \(n + 1) has no value") }
                switch kv[0] {
                case "module-path": modulePath = try string(kv[1])
                case "pin-value", "pin-source": throw bad("a PIN is never taken from the URI: give it in a file, the environment or at the prompt")
                default: throw bad("the query attribute \(named(kv[0])) is not understood")
                }
            }
        }
        guard object != nil || id != nil else { throw bad("it names no key (object=… or id=…)") }
    }
}

/// Something that makes minisign signatures: a key file's secret (`MinisignSecretKey`) or a key
/// held by a token (`Pkcs11Signer`). The key id is minisign's, carried in every signature.
public protocol MinisignSigner: Sendable {
    var keyId: [UInt8] { get }
    var publicKey: MinisignPublicKey { get }
    /// A pure Ed25519 signature of `message`.
    func signRaw(_ message: UnsafeRawBufferPointer) throws -> [UInt8]
}

/// A loaded PKCS#11 module. It is initialized once per process and never unloaded; every call
/// into it is made under `lock` (a token is one device: its calls are serialized). It can be
/// initialized again (C_Finalize, then C_Initialize) when a token has gone away: some modules
/// (SoftHSM2) find a token that came back only then. That ends every session opened before, so
/// each signer keeps the `generation` its session was opened in and opens a new one when it
/// changed.
///
/// The PIN a token refused is kept here, by token (label and serial), not by signer: no signer
/// of this process — another key on the token, one made again by a key reload — sends it again.
final class Pkcs11Module: @unchecked Sendable {
    struct State {
        var generation = 0
        var lastReset: ContinuousClock.Instant?
        /// The PIN each token refused last (by `tokenID`): not sent again.
        var refusedPINs: [String: SecureBytes] = [:]
    }
    let path: String
    let functions: UnsafeMutablePointer<CK_FUNCTION_LIST>
    let lock: Mutex<State>

    private init(path: String, functions: UnsafeMutablePointer<CK_FUNCTION_LIST>) {
        self.path = path
        self.functions = functions
        lock = Mutex(State())
    }

    /// Loaded modules by their real path (a module reached by two paths is one: one lock, one
    /// generation), and by function list.
    private static let loaded = Mutex<[String: Pkcs11Module]>([:])

    /// The module may be called from several threads: it locks with the system's own.
    private static func initialize(_ list: UnsafeMutablePointer<CK_FUNCTION_LIST>) -> CK_RV {
        var args = CK_C_INITIALIZE_ARGS(
            CreateMutex: nil, DestroyMutex: nil, LockMutex: nil, UnlockMutex: nil, flags: CK_FLAGS(CKF_OS_LOCKING_OK), pReserved: nil)
        return list.pointee.C_Initialize!(&args)
    }

    static func load(_ path: String) throws -> Pkcs11Module {
        // An absolute path only: a bare name would be searched for (the library path, the
        // current folder), and whatever is found runs its constructors at once.
        guard path.hasPrefix("/") else {
            throw SealError(
                .usage, "the PKCS#11 module must be given by its absolute path, not \(path)",
                remedy: "give the module's full path, e.g. /usr/lib/softhsm/libsofthsm2.so")
        }
        guard let resolved = realpath(path, nil) else { throw Pkcs11Signer.unavailable("its module \(path) cannot be found") }
        let real = String(cString: resolved)
        free(resolved)
        return try loaded.withLock { loaded in
            if let m = loaded[real] { return m }
            // A module runs with the process's keys in memory: only a file its owner (root, or
            // the user running this) alone can write, in a folder likewise, is loaded.
            guard let fd = SystemIO.openTrusted(real, owner: geteuid()) else {
                throw SealError(
                    .tokenUnavailable,
                    "the PKCS#11 module \(path) is not a file only its owner (root) can write, in a folder only its owner can write",
                    remedy: "install the token's module as a system library (owned by root, not writable by others) and give that path")
            }
            close(fd)
            guard let handle = dlopen(real, RTLD_NOW | RTLD_LOCAL) else {
                throw Pkcs11Signer.unavailable("its module \(path) cannot be loaded")
            }
            guard let symbol = dlsym(handle, "C_GetFunctionList") else { throw Pkcs11Signer.unavailable("\(path) is not a PKCS#11 module") }
            typealias GetFunctionList = @convention(c) (UnsafeMutablePointer<UnsafeMutablePointer<CK_FUNCTION_LIST>?>?) -> CK_RV
            let get = unsafeBitCast(symbol, to: GetFunctionList.self)
            var list: UnsafeMutablePointer<CK_FUNCTION_LIST>?
            guard get(&list) == CKR_OK, let list else { throw Pkcs11Signer.unavailable("\(path) gave no function list") }
            // The same library under another name (a link): the module already loaded.
            if let m = loaded.values.first(where: { $0.functions == list }) {
                loaded[real] = m
                return m
            }
            let rv = initialize(list)
            guard rv == CKR_OK || rv == CKR_CRYPTOKI_ALREADY_INITIALIZED else { throw Pkcs11Signer.unavailable("\(path) did not initialize", rv) }
            let m = Pkcs11Module(path: real, functions: list)
            loaded[real] = m
            return m
        }
    }

    /// Initializes the module again (under `lock`), at most once every `resetInterval`: every
    /// session of every signer on it ends. Returns whether it did.
    func reset(_ state: inout State) -> Bool {
        let now = ContinuousClock.now
        if let last = state.lastReset, now - last < Self.resetInterval { return false }
        state.lastReset = now
        _ = functions.pointee.C_Finalize!(nil)
        state.generation += 1
        return Self.initialize(functions) == CKR_OK
    }

    static let resetInterval = Duration.seconds(2)
}

/// An Ed25519 signing key on a PKCS#11 token (a USB token, an HSM; SoftHSM2 in the tests): the
/// module is loaded at run time (dlopen, never linked), the token found by its label (or serial,
/// or slot), the session logged in with the PIN, the key found by label and/or id. A minisign
/// signature is Ed25519 over the BLAKE2b-512 hash of the file and over the signature and trusted
/// comment: the token signs those messages with `CKM_EDDSA`, so stock `minisign -V` verifies.
///
/// The minisign key id of a token key is derived from its public key: the first 8 bytes of
/// SHA-256 of the 32-byte Ed25519 public key (docs/keys.md).
///
/// A long-running gateway meets a token that goes away and comes back, a PIN that stops working
/// and calls that fail half-way. A failed call ends the session (an operation left active, a
/// handle gone stale) and is tried once more in a new one; a token that cannot be reached is
/// `token_unavailable` until it can (the module initialized again, at most every 2 s; tries at
/// most once a second, the last failure answered meanwhile); a PIN the token refused is never
/// sent again (each wrong try brings a real token closer to locking): the PIN source is asked
/// again at the next try, and a different PIN — a PIN file written anew — is tried. Nothing here
/// needs a restart.
///
/// `@unchecked Sendable`: the session state is used under the module's lock only.
public final class Pkcs11Signer: MinisignSigner, @unchecked Sendable {
    public let keyId: [UInt8]
    public let publicKey: MinisignPublicKey
    public let uri: Pkcs11URI
    private let modulePath: String
    /// Loaded at the first use when the key is known beforehand (a key file), else at once.
    private let loadedModule: Mutex<Pkcs11Module?>
    private let pin: @Sendable () throws -> SecureBytes

    private struct Session {
        var handle: CK_SESSION_HANDLE
        var key: CK_OBJECT_HANDLE
        var generation: Int
    }
    private struct State {
        var session: Session?
        var lastFailure: (at: ContinuousClock.Instant, error: SealError)?
    }
    /// Guarded by `module.lock` (taken first, always).
    private let state: Mutex<State>

    static func unavailable(_ what: String, _ rv: CK_RV? = nil) -> SealError {
        SealError(
            .tokenUnavailable, "the token cannot be used: \(what)\(rv.map { " (PKCS#11 error 0x\(String($0, radix: 16)))" } ?? "")",
            remedy: "check that the token is plugged in and its module path is right, then try again")
    }

    /// The key named by `uri` on a token reached through `modulePath`; `pin` is asked when the
    /// token needs a login (at once, and again after the token came back). With `expecting`,
    /// the key is that public key (a gateway's published key): nothing is loaded or opened until
    /// the first signature (or `open()`), and a token holding another key is refused then.
    /// Without it the token is opened now and its key read. Throws `token_unavailable`,
    /// `token_pin_refused` or `token_key_missing`; the PIN is never in an error.
    public init(uri: Pkcs11URI, modulePath: String, expecting: MinisignPublicKey? = nil, pin: @escaping @Sendable () throws -> SecureBytes)
        throws
    {
        self.uri = uri
        self.pin = pin
        self.modulePath = modulePath
        if let expecting {
            publicKey = MinisignPublicKey(keyId: expecting.keyId, key: expecting.key)
            keyId = expecting.keyId
            state = Mutex(State())
            loadedModule = Mutex(nil)
            return
        }
        let module = try Pkcs11Module.load(modulePath)
        loadedModule = Mutex(module)
        var opened = State()
        let raw = try module.lock.withLock { m in
            let s = try Self.openSession(module, &m, uri: uri, pin: pin)
            opened.session = s.session
            return s.publicKey
        }
        state = Mutex(opened)
        keyId = Self.keyId(raw)
        publicKey = MinisignPublicKey(keyId: keyId, key: raw)
    }

    /// The module, loaded now if it was not yet.
    private func module() throws -> Pkcs11Module {
        try loadedModule.withLock { m in
            if let m { return m }
            let loaded = try Pkcs11Module.load(modulePath)
            m = loaded
            return loaded
        }
    }

    deinit {
        guard let module = loadedModule.withLock({ $0 }) else { return }
        module.lock.withLock { m in
            state.withLock { st in
                if let s = st.session, s.generation == m.generation { _ = module.functions.pointee.C_CloseSession?(s.handle) }
            }
        }
    }

    /// The minisign key id of a token's Ed25519 public key.
    static func keyId(_ key: [UInt8]) -> [UInt8] { Array(SHA256Hasher.hash(key).prefix(8)) }

    /// Opens the session now (a gateway at start, while its operator is there to see a refusal).
    public func open() throws {
        let module = try module()
        try module.lock.withLock { m in try state.withLock { st in _ = try session(module, &m, &st) } }
    }

    /// Opens the session and signs a test message (checked against the public key): what a
    /// rotation does before it makes the key the one to sign with.
    public func check() throws {
        _ = try Array("sealgate: a token key's test signature".utf8).withUnsafeBytes { try signRaw($0) }
    }

    public func signRaw(_ message: UnsafeRawBufferPointer) throws -> [UInt8] {
        let module = try module()
        return try module.lock.withLock { m in
            try state.withLock { st in
                do { return try sign(message, module, &m, &st) } catch let e as SealError where e.code == .tokenUnavailable {
                    // The call failed in a session that was open: once more in a new one (a
                    // transient fault, an operation left active, a handle gone stale).
                    return try sign(message, module, &m, &st)
                }
            }
        }
    }

    private func sign(_ message: UnsafeRawBufferPointer, _ module: Pkcs11Module, _ m: inout Pkcs11Module.State, _ st: inout State) throws
        -> [UInt8]
    {
        let s = try session(module, &m, &st)
        let fl = module.functions.pointee
        // A failed call ends the session: the next one opens a new one.
        func endSession() {
            _ = fl.C_CloseSession!(s.handle)
            st.session = nil
        }
        func fail(_ what: String, _ rv: CK_RV) -> SealError {
            endSession()
            return Self.unavailable(what, rv)
        }
        var mechanism = CK_MECHANISM(mechanism: CK_MECHANISM_TYPE(CKM_EDDSA), pParameter: nil, ulParameterLen: 0)
        var rv = fl.C_SignInit!(s.handle, &mechanism, s.key)
        guard rv == CKR_OK else { throw fail("the token would not start a signature", rv) }
        // A test's failpoint: the call fails between its two steps, the operation left active.
        do { try Failpoints.check("token.sign") } catch { throw fail("the signing call failed half-way", CK_RV(CKR_DEVICE_ERROR)) }
        var signature = [UInt8](repeating: 0, count: 64)
        var length = CK_ULONG(64)
        rv = signature.withUnsafeMutableBufferPointer { out in
            fl.C_Sign!(
                s.handle, UnsafeMutablePointer(mutating: message.baseAddress?.assumingMemoryBound(to: UInt8.self)), CK_ULONG(message.count),
                out.baseAddress, &length)
        }
        guard rv == CKR_OK, length == 64 else { throw fail("the token did not sign", rv) }
        // What the token signed must verify with the public key it gave: a token that signs
        // with another key (or garbage) is caught here, not by the receiver.
        guard Ed25519.verify(signature: signature, message: Array(message), publicKey: publicKey.key) else {
            endSession()
            throw SealError(
                .tokenKeyMissing, "the token signed with another key than the public key beside \(uri.text)",
                remedy: "keep one key pair under that label and id on the token: its private and public objects must belong together")
        }
        return signature
    }

    /// The open session, or a new one: at most one try a second (the last failure answered meanwhile).
    private func session(_ module: Pkcs11Module, _ m: inout Pkcs11Module.State, _ st: inout State) throws -> Session {
        if let s = st.session, s.generation == m.generation { return s }
        st.session = nil
        let now = ContinuousClock.now
        if let f = st.lastFailure, now - f.at < .seconds(1) { throw f.error }
        do {
            let opened: (session: Session, publicKey: [UInt8])
            do { opened = try Self.openSession(module, &m, uri: uri, pin: pin) } catch let e as SealError where e.code == .tokenUnavailable {
                // The token may have come back where the module no longer looks: initialize it again.
                guard module.reset(&m) else { throw e }
                opened = try Self.openSession(module, &m, uri: uri, pin: pin)
            }
            guard opened.publicKey == publicKey.key else {
                _ = module.functions.pointee.C_CloseSession!(opened.session.handle)
                throw SealError(
                    .tokenKeyMissing, "the token holds another key under \(uri.text) than the one published (key id \(publicKey.keyIdHex))",
                    remedy: "plug in the token that holds the published key, or rotate to the key this token holds")
            }
            st.session = opened.session
            st.lastFailure = nil
            return opened.session
        } catch let e as SealError {
            st.lastFailure = (now, e)
            throw e
        }
    }

    /// Finds the token and the key, logs in; the session and the key's public key.
    private static func openSession(
        _ module: Pkcs11Module, _ m: inout Pkcs11Module.State, uri: Pkcs11URI, pin: () throws -> SecureBytes
    ) throws -> (session: Session, publicKey: [UInt8]) {
        let fl = module.functions.pointee
        // The token: by serial, slot or label among the slots holding one.
        var count: CK_ULONG = 0
        var rv = fl.C_GetSlotList!(CK_BBOOL(CK_TRUE), nil, &count)
        guard rv == CKR_OK, count <= 4096 else { throw unavailable("the module lists no slots", rv) }
        var slots = [CK_SLOT_ID](repeating: 0, count: Int(count))
        rv = fl.C_GetSlotList!(CK_BBOOL(CK_TRUE), &slots, &count)
        guard rv == CKR_OK else { throw unavailable("the module lists no slots", rv) }
        var matching: [CK_SLOT_ID] = []
        for slot in slots.prefix(min(Int(count), slots.count)) {
            if let want = uri.slotId, want != slot { continue }
            var info = CK_TOKEN_INFO()
            guard fl.C_GetTokenInfo!(slot, &info) == CKR_OK else { continue }
            let label = withUnsafeBytes(of: info.label) { padded($0) }
            let serial = withUnsafeBytes(of: info.serialNumber) { padded($0) }
            if let want = uri.token, want != label { continue }
            if let want = uri.serial, want != serial { continue }
            matching.append(slot)
        }
        guard let slot = matching.first else {
            throw unavailable("no token \(uri.token.map { "labelled \($0)" } ?? "matching the URI") is present")
        }
        // Two tokens plugged in and a URI that does not say which: never the first one found.
        guard matching.count == 1 else {
            throw SealError(
                .tokenUnavailable, "\(matching.count) tokens match \(uri.text)", remedy: "name the token in the URI (token=LABEL or serial=…)")
        }
        var session: CK_SESSION_HANDLE = 0
        rv = fl.C_OpenSession!(slot, CK_FLAGS(CKF_SERIAL_SESSION), nil, nil, &session)
        guard rv == CKR_OK else { throw unavailable("no session could be opened", rv) }
        var keep = false
        defer { if !keep { _ = fl.C_CloseSession!(session) } }
        var tokenInfo = CK_TOKEN_INFO()
        _ = fl.C_GetTokenInfo!(slot, &tokenInfo)
        let tokenID = withUnsafeBytes(of: tokenInfo.label) { padded($0) } + "\u{0}" + withUnsafeBytes(of: tokenInfo.serialNumber) { padded($0) }
        if tokenInfo.flags & CK_FLAGS(CKF_USER_PIN_LOCKED) != 0 {
            throw SealError(.tokenPinRefused, "the token's PIN is locked", remedy: "have the token's security officer unlock the PIN")
        }
        if tokenInfo.flags & CK_FLAGS(CKF_LOGIN_REQUIRED) != 0 {
            // A PIN that cannot be had (no file, a file others can read, no terminal) is the
            // token's refusal too: a gateway answers it as a fault of its own, never as the package's.
            let p: SecureBytes
            do { p = try pin() } catch let e as SealError where e.code != .tokenPinRefused {
                throw SealError(.tokenPinRefused, "the token's PIN could not be read: \(e.message)", remedy: e.remedy)
            }
            // An empty PIN is never sent: it would cost one of the token's tries for nothing; nor
            // a PIN the token refused already.
            guard p.count > 0 else { throw SealError(.tokenPinRefused, "an empty PIN was given", remedy: "give the token's user PIN") }
            if let refused = m.refusedPINs[tokenID], refused == p {
                throw SealError(
                    .tokenPinRefused, "the token refused this PIN before; it is not sent again",
                    remedy: "give the token's right user PIN (write it into the PIN file: it is read again at the next try)")
            }
            rv = p.withUnsafeBytes { b in
                fl.C_Login!(
                    session, CK_USER_TYPE(CKU_USER), UnsafeMutablePointer(mutating: b.baseAddress?.assumingMemoryBound(to: UInt8.self)),
                    CK_ULONG(b.count))
            }
            switch rv {
            case CKR_OK, CKR_USER_ALREADY_LOGGED_IN: m.refusedPINs[tokenID] = nil
            case CKR_PIN_INCORRECT, CKR_PIN_INVALID, CKR_PIN_LEN_RANGE:
                m.refusedPINs[tokenID] = p
                throw SealError(.tokenPinRefused, "the token refused the PIN", remedy: "give the token's user PIN (a few wrong ones lock the token)")
            case CKR_PIN_LOCKED:
                throw SealError(.tokenPinRefused, "the token's PIN is locked", remedy: "have the token's security officer unlock the PIN")
            default:
                throw unavailable("the login failed", rv)
            }
        }
        let keys = try find(fl, session, CK_OBJECT_CLASS(CKO_PRIVATE_KEY), label: uri.object, id: uri.id)
        guard keys.count == 1 else {
            if keys.isEmpty {
                throw SealError(
                    .tokenKeyMissing, "the token holds no Ed25519 private key named by \(uri.text)",
                    remedy: "check the URI's object= (the key's label) or id= against the objects the token lists")
            }
            throw SealError(
                .tokenKeyMissing, "\(keys.count) Ed25519 private keys match \(uri.text)", remedy: "name the key by both object= and id=")
        }
        // The public half: its CKA_EC_POINT (the 32 bytes, or DER: an OCTET STRING around them).
        let publics = try find(fl, session, CK_OBJECT_CLASS(CKO_PUBLIC_KEY), label: uri.object, id: uri.id)
        guard publics.count == 1, let point = attribute(fl, session, publics[0], CK_ATTRIBUTE_TYPE(CKA_EC_POINT)) else {
            throw SealError(
                .tokenKeyMissing, "the token holds no public key beside the private key named by \(uri.text)",
                remedy: "keep the key pair's public object on the token beside its private key, as key generation on the token makes it")
        }
        let raw: [UInt8] = point.count == 34 && point[0] == 0x04 && point[1] == 32 ? Array(point.suffix(32)) : point
        guard raw.count == 32 else {
            throw SealError(.tokenKeyMissing, "the key named by \(uri.text) is not an Ed25519 key", remedy: "use an Ed25519 (edwards25519) key pair")
        }
        keep = true
        return (Session(handle: session, key: keys[0], generation: m.generation), raw)
    }

    /// A label or serial from the token info: blank-padded, not NUL-terminated.
    static func padded(_ bytes: UnsafeRawBufferPointer) -> String {
        var b = Array(bytes)
        while let last = b.last, last == 0x20 || last == 0 { b.removeLast() }
        return String(decoding: b, as: UTF8.self)
    }

    /// Objects of class `cls` with key type Ed25519, by label and/or id.
    static func find(_ fl: CK_FUNCTION_LIST, _ session: CK_SESSION_HANDLE, _ cls: CK_OBJECT_CLASS, label: String?, id: [UInt8]?) throws
        -> [CK_OBJECT_HANDLE]
    {
        var classValue = cls
        var keyType = CK_KEY_TYPE(CKK_EC_EDWARDS)
        var labelBytes = Array((label ?? "").utf8)
        var idBytes = id ?? []
        return try withUnsafeMutableBytes(of: &classValue) { c in
            try withUnsafeMutableBytes(of: &keyType) { k in
                try labelBytes.withUnsafeMutableBytes { l in
                    try idBytes.withUnsafeMutableBytes { i in
                        var template = [
                            CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(CKA_CLASS), pValue: c.baseAddress, ulValueLen: CK_ULONG(c.count)),
                            CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(CKA_KEY_TYPE), pValue: k.baseAddress, ulValueLen: CK_ULONG(k.count)),
                        ]
                        if label != nil {
                            template.append(CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(CKA_LABEL), pValue: l.baseAddress, ulValueLen: CK_ULONG(l.count)))
                        }
                        if id != nil {
                            template.append(CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(CKA_ID), pValue: i.baseAddress, ulValueLen: CK_ULONG(i.count)))
                        }
                        var rv = fl.C_FindObjectsInit!(session, &template, CK_ULONG(template.count))
                        guard rv == CKR_OK else { throw unavailable("the token would not search its objects", rv) }
                        defer { _ = fl.C_FindObjectsFinal!(session) }
                        var handles = [CK_OBJECT_HANDLE](repeating: 0, count: 8)
                        var n: CK_ULONG = 0
                        rv = fl.C_FindObjects!(session, &handles, CK_ULONG(handles.count), &n)
                        guard rv == CKR_OK else { throw unavailable("the token would not list its objects", rv) }
                        return Array(handles.prefix(Int(min(n, CK_ULONG(handles.count)))))
                    }
                }
            }
        }
    }

    /// An attribute's bytes (nil when the object has none).
    static func attribute(_ fl: CK_FUNCTION_LIST, _ session: CK_SESSION_HANDLE, _ object: CK_OBJECT_HANDLE, _ type: CK_ATTRIBUTE_TYPE) -> [UInt8]? {
        var probe = CK_ATTRIBUTE(type: type, pValue: nil, ulValueLen: 0)
        guard fl.C_GetAttributeValue!(session, object, &probe, 1) == CKR_OK, probe.ulValueLen > 0, probe.ulValueLen < 4096 else { return nil }
        var value = [UInt8](repeating: 0, count: Int(probe.ulValueLen))
        let ok = value.withUnsafeMutableBytes { v -> Bool in
            var a = CK_ATTRIBUTE(type: type, pValue: v.baseAddress, ulValueLen: CK_ULONG(v.count))
            return fl.C_GetAttributeValue!(session, object, &a, 1) == CKR_OK
        }
        return ok ? value : nil
    }
}
