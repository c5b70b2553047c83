public import NIOCore
import SealBase
public import SealCrypto
public import SealPackage

#if canImport(Glibc)
    import Glibc
#endif

extension BodySpooler {
    /// Where the spooler's blocking work (a batch written, the final fsync) runs: a pool thread.
    public typealias Offload = @Sendable (_ work: @escaping @Sendable () throws -> Void) async throws -> Void

    /// Streams a request body into the spooler and keeps it (`finish`, fsynced): the gateway
    /// intake's one body loop (public, for the handbook receiver's too). As soon as the body's first member
    /// is in, `head` decides whether the rest is read at all (it throws the refusal). A body over
    /// the limit and a head that is not a package's are `refuse`d (`package_too_large`,
    /// `container_malformed`, …); whatever is thrown, the file is removed.
    public func receive<Body: AsyncSequence>(
        _ body: Body, offload: Offload, refuse: (SealError) -> any Error, head: (PackagePeek) async throws -> Void
    ) async throws -> Spooled where Body.Element == ByteBuffer {
        var collector = PackagePeek.Collector()
        do {
            for try await chunk in body {
                let ready: Bool
                let peek: PackagePeek?
                do {
                    ready = try chunk.withUnsafeReadableBytes { try take($0) }
                    peek = try collector.feed(chunk.readableBytesView)
                } catch let e as SealError where e.code != .ioError {
                    throw refuse(e)
                }
                if let peek { try await head(peek) }
                if ready { try await offload { try self.writeBatch() } }
            }
            try await offload { _ = try self.finish() }
            guard let kept else { throw SealError.io("cannot sync \(path): the body was not kept", errno: EIO) }
            return kept
        } catch {
            discard()
            // Kept already (the offload failed after `finish` ran): the caller gets an error and
            // never learns the path, so the file goes too.
            if let kept { unlink(kept.path) }
            throw error
        }
    }
}
