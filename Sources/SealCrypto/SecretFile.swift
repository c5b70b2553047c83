import SealBase
import Synchronization
import SystemIO

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reading and writing secret key files: straight between the file and `SecureBytes`,
/// created 0600 and refused when group or others may read them.
public enum SecretFile {
    /// Reads a secret file into secure memory. Throws `key_file_permissions` when the file is
    /// readable or writable by group or others.
    public static func read(path: String, maxSize: Int = 64 * 1024) throws -> SecureBytes {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SealError.io("cannot open key file \(path)", errno: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SealError.io("cannot stat \(path)", errno: errno) }
        if st.st_mode & 0o077 != 0 {
            throw SealError(
                .keyFilePermissions, "secret key file \(path) is accessible to other users (mode \(String(st.st_mode & 0o777, radix: 8)))",
                remedy: "run: chmod 600 \(path)")
        }
        guard Int(st.st_size) <= maxSize else {
            throw SealError(.keyMalformed, "\(path) is too large to be a key file", remedy: "check that the path names a key file")
        }
        let buf = SecureBytes(count: Int(st.st_size))
        let got = try buf.withUnsafeMutableBytes { b -> Int in
            do throws(SystemCallError) { return try SystemIO.readFull(fd, into: b) } catch {
                throw SealError.io("cannot read \(path)", errno: error.errno)
            }
        }
        return got == buf.count ? buf : buf.slice(0..<got)
    }

    /// Writes secret contents to a new file with mode 0600; refuses to overwrite unless `force`.
    public static func write(path: String, contents: SecureBytes, force: Bool = false) throws {
        try contents.withUnsafeBytes { try writeBytes(path: path, bytes: $0, mode: 0o600, force: force) }
    }

    /// Writes public contents (a public key) to a new file, mode 0644.
    public static func writePublic(path: String, contents: String, force: Bool = false) throws {
        try Array(contents.utf8).withUnsafeBytes { try writeBytes(path: path, bytes: $0, mode: 0o644, force: force) }
    }

    /// Written under a temporary name beside `path`, fsynced, then put in place in one step
    /// (`link` when it must not replace a file, `rename` when `force`) and the folder fsynced:
    /// a crash leaves either the old file or the new one, never a part of one.
    private static func writeBytes(path: String, bytes: UnsafeRawBufferPointer, mode: mode_t, force: Bool) throws {
        if !force && access(path, F_OK) == 0 {
            throw SealError(
                .keyFileExists, "\(path) already exists", remedy: "choose another name, or remove the old key first if you really mean to replace it")
        }
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[..<$0]) } ?? "."
        let temp = "\(dir)/.\(slash.map { String(path[path.index(after: $0)...]) } ?? path).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw SealError.io("cannot create \(temp)", errno: errno) }
        var placed = false
        defer { if !placed { unlink(temp) } }
        do {
            defer { close(fd) }
            _ = fchmod(fd, mode)
            do throws(SystemCallError) { try SystemIO.writeAll(fd, bytes) } catch { throw SealError.io("cannot write \(path)", errno: error.errno) }
            guard fsync(fd) == 0 else { throw SealError.io("cannot sync \(path)", errno: errno) }
        }
        if force {
            guard rename(temp, path) == 0 else { throw SealError.io("cannot write \(path)", errno: errno) }
        } else {
            guard link(temp, path) == 0 else {
                if errno == EEXIST {
                    throw SealError(
                        .keyFileExists, "\(path) already exists",
                        remedy: "choose another name, or remove the old key first if you really mean to replace it")
                }
                throw SealError.io("cannot create \(path)", errno: errno)
            }
            unlink(temp)
        }
        placed = true
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }
}

/// Where a passphrase comes from: `--passphrase-file`, `SEALGATE_PASSPHRASE`, or a prompt on
/// the terminal (echo off). The passphrase goes straight into secure memory.
public enum Passphrase {
    /// Environment variable consulted when no file is given.
    public static let environmentVariable = "SEALGATE_PASSPHRASE"

    /// Obtains a passphrase. `confirm` asks twice on a terminal (for new keys).
    public static func obtain(file: String?, prompt: String, confirm: Bool = false) throws -> SecureBytes {
        try obtain(file: file, prompt: prompt, confirm: confirm, environment: environmentVariable)
    }

    /// The PIN of a token (PKCS#11): from `file` (mode 0600), `SEALGATE_PKCS11_PIN` (read once and
    /// wiped, as the passphrase's variable is) or the terminal with echo off.
    public static func obtainPIN(file: String?, prompt: String) throws -> SecureBytes {
        do { return try obtain(file: file, prompt: prompt, confirm: false, environment: pinEnvironmentVariable) } catch let e as SealError
            where e.code == .passphraseRequired
        {
            throw SealError(
                .passphraseRequired, "the token needs its PIN and there is no terminal to ask on",
                remedy: "give the token's PIN from a file or the environment when no terminal can ask for it")
        }
    }

    public static let pinEnvironmentVariable = "SEALGATE_PKCS11_PIN"

    /// The PIN in `SEALGATE_PKCS11_PIN`, if it was set (read once, then wiped from the environment).
    public static func pinFromEnvironment() -> SecureBytes? { fromEnvironment(pinEnvironmentVariable) }

    static func obtain(file: String?, prompt: String, confirm: Bool, environment: String) throws -> SecureBytes {
        if let file {
            let raw = try SecretFile.read(path: file)
            return trimmingTrailingNewline(raw)
        }
        if let p = fromEnvironment(environment) { return p }
        guard isatty(STDIN_FILENO) == 1 || canOpenTTY() else {
            throw SealError(
                .passphraseRequired, "a passphrase is needed and there is no terminal to ask on",
                remedy: "give the passphrase from a file or the environment when no terminal can ask for it")
        }
        let first = try promptTTY(prompt)
        if confirm {
            let second = try promptTTY("Again: ")
            guard first == second else {
                throw SealError(.usage, "the two passphrases differ", remedy: "run the command again and type the same passphrase twice")
            }
        }
        guard first.count > 0 else {
            // Only a new key can be made without a passphrase; an existing one needs its own.
            throw SealError(
                .passphraseRequired, "an empty passphrase was given",
                remedy: confirm ? "type a passphrase, or ask explicitly for a key without one" : "type the passphrase the key was made with")
        }
        return first
    }

    private static let environmentCopies = Mutex<[String: SecureBytes]>([:])

    /// `SEALGATE_PASSPHRASE`, read once: copied into secure memory, then wiped from the
    /// environment (its bytes zeroed, the variable unset) so that neither /proc/PID/environ nor
    /// a child process sees it. Later calls get the copy.
    static func fromEnvironment(_ name: String = environmentVariable) -> SecureBytes? {
        environmentCopies.withLock { cached in
            if let c = cached[name] { return c }
            guard let env = getenv(name) else { return nil }
            let n = strlen(env)
            let copy = SecureBytes(copying: UnsafeRawBufferPointer(start: env, count: n))
            memset(env, 0, n)
            unsetenv(name)
            cached[name] = copy
            return copy
        }
    }

    private static func canOpenTTY() -> Bool {
        let fd = open("/dev/tty", O_RDONLY | O_CLOEXEC)
        if fd >= 0 { close(fd) }
        return fd >= 0
    }

    private static func trimmingTrailingNewline(_ s: SecureBytes) -> SecureBytes {
        var n = s.count
        s.withUnsafeBytes { b in
            while n > 0 && (b[n - 1] == 0x0A || b[n - 1] == 0x0D) { n -= 1 }
        }
        return n == s.count ? s : s.slice(0..<n)
    }

    private static func promptTTY(_ prompt: String) throws -> SecureBytes {
        let fd = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else {
            throw SealError(
                .passphraseRequired, "a passphrase is needed and there is no terminal to ask on",
                remedy: "give the passphrase from a file or the environment when no terminal can ask for it")
        }
        defer { close(fd) }
        _ = prompt.withCString { Glibc.write(fd, $0, strlen($0)) }
        var old = termios()
        let haveTermios = tcgetattr(fd, &old) == 0
        if haveTermios {
            var noEcho = old
            noEcho.c_lflag &= ~tcflag_t(ECHO)
            _ = tcsetattr(fd, TCSANOW, &noEcho)  // keep typeahead (a passphrase piped into a pty)
        }
        defer {
            if haveTermios {
                var o = old
                _ = tcsetattr(fd, TCSANOW, &o)
            }
            _ = Glibc.write(fd, "\n", 1)
        }
        let buf = SecureBytes(count: 1024)
        var n = 0
        buf.withUnsafeMutableBytes { b in
            var c: UInt8 = 0
            while n < b.count, Glibc.read(fd, &c, 1) == 1, c != 0x0A {
                if c != 0x0D {
                    b[n] = c
                    n += 1
                }
            }
            c = 0
        }
        return buf.slice(0..<n)
    }
}
