import Foundation

/// One zip member inflated on a thread of its own, a few chunks ahead of the thread that
/// tokenizes it (`Workbook.stream`): inflating and the CRC-32 (about a fifth of reading a sheet)
/// then run beside the tokenizer instead of before it. The member's bounds are held here, as
/// it inflates: never past the size it declares (a zip bomb), and at most `depth` chunks of
/// 64 KiB waiting. The reader takes the chunks in order, then the error that ended the
/// inflating, if any — the order a single thread would have met them in.
final class Inflater: @unchecked Sendable {
    let path: String
    let location: MemberLocation
    let what: String
    let declared: UInt64
    let bombMessage: String
    /// Bytes inflated and their CRC-32: read by the reader after `join`.
    private(set) var real: UInt64 = 0
    private(set) var crc = ZipCRC32()

    private let cond = NSCondition()
    private var chunks: [Data] = []
    private var ended = false
    private var failure: (any Error)?
    private var abandoned = false
    private var thread: pthread_t?
    static let depth = 4

    struct Abandoned: Error {}

    init(path: String, location: MemberLocation, what: String, declared: UInt64, bombMessage: String) {
        self.path = path
        self.location = location
        self.what = what
        self.declared = declared
        self.bombMessage = bombMessage
    }

    /// Starts the inflating thread (or fails, leaving the caller to inflate on its own).
    func start() -> Bool {
        let context = Unmanaged.passRetained(self).toOpaque()
        var tid = pthread_t()
        let rc = pthread_create(
            &tid, nil,
            { raw in
                let job = Unmanaged<Inflater>.fromOpaque(raw!).takeRetainedValue()
                job.run()
                return nil
            }, context)
        guard rc == 0 else {
            Unmanaged<Inflater>.fromOpaque(context).release()
            return false
        }
        thread = tid
        return true
    }

    private func run() {
        do {
            try MemberReader.read(path: path, location, chunk: Workbook.chunkSize, what: what) { raw in
                real += UInt64(raw.count)
                guard real <= declared else { throw WorkbookError.unsafe(bombMessage) }
                crc.update(raw)
                try put(Data(raw))
            }
            end(nil)
        } catch {
            end(error)
        }
    }

    private func put(_ data: Data) throws {
        cond.lock()
        defer { cond.unlock() }
        while chunks.count >= Self.depth && !abandoned { cond.wait() }
        if abandoned { throw Abandoned() }
        chunks.append(data)
        cond.broadcast()
    }

    private func end(_ error: (any Error)?) {
        cond.lock()
        ended = true
        failure = error
        cond.broadcast()
        cond.unlock()
    }

    /// The next chunk in order; nil when the member has ended; throws what ended it otherwise.
    func take() throws -> Data? {
        cond.lock()
        defer { cond.unlock() }
        while chunks.isEmpty && !ended { cond.wait() }
        if !chunks.isEmpty {
            cond.broadcast()
            return chunks.removeFirst()
        }
        if let failure { throw failure }
        return nil
    }

    /// Waits for the thread to end; when the reader stopped early, the inflating stops at its
    /// next chunk.
    func join() {
        guard let tid = thread else { return }
        cond.lock()
        if !ended {
            abandoned = true
            chunks.removeAll()
            cond.broadcast()
        }
        cond.unlock()
        pthread_join(tid, nil)
        thread = nil
    }
}
