import Foundation
import SealCrypto

/// A two-stage pipeline over a ring of reusable buffers: `produce` runs on a thread of its own
/// and fills slots in order; `consume` runs on the calling thread and takes them in the same
/// order. Used to overlap BLAKE2b (the slowest stage, sequential by nature) with the
/// independent STREAM chunks' encryption or decryption on the other core.
///
/// `@unchecked Sendable`: a slot is owned by one side at a time — the producer until it signals
/// `full`, the consumer until it signals `free` — so no slot is touched by two threads at once.
final class SlotPipeline: @unchecked Sendable {
    final class Slot: @unchecked Sendable {
        let a: UnsafeMutableRawBufferPointer
        let b: UnsafeMutableRawBufferPointer
        var aCount = 0
        var bCount = 0
        var index = 0
        var last = false
        /// Chunks the producer already processed (opening splits decryption between threads).
        var preprocessed = 0
        var preprocessError: SealError?
        init(aSize: Int, bSize: Int) {
            a = UnsafeMutableRawBufferPointer.allocate(byteCount: aSize, alignment: 64)
            b = UnsafeMutableRawBufferPointer.allocate(byteCount: bSize, alignment: 64)
        }
        deinit {
            secureZero(a)  // may have held plaintext
            secureZero(b)
            a.deallocate()
            b.deallocate()
        }
    }

    private let slots: [Slot]
    private let free: DispatchSemaphore
    private let full = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var producerError: (any Error)?
    private var cancelled = false

    init(count: Int, aSize: Int, bSize: Int) {
        slots = (0..<count).map { _ in Slot(aSize: aSize, bSize: bSize) }
        free = DispatchSemaphore(value: count)
    }

    private var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }

    /// Runs both stages. `produce(slot)` fills a slot and sets `slot.last` on the final one;
    /// `consume(slot)` processes it. An error in either stage stops both and is rethrown
    /// (the producer's first); `consume` errors stop consuming but let the producer finish
    /// its current slot.
    func run(produce: @escaping @Sendable (Slot) throws -> Void, consume: (Slot) throws -> Void, singleBatch: Bool = false) throws {
        if singleBatch {
            // One batch (a small package): no thread to start, no hand-over.
            let slot = slots[0]
            slot.index = 0
            slot.last = false
            slot.preprocessed = 0
            slot.preprocessError = nil
            try produce(slot)
            try consume(slot)
            return
        }
        let thread = Thread { [self] in
            var i = 0
            while true {
                free.wait()
                if isCancelled { break }
                let slot = slots[i % slots.count]
                slot.index = i
                slot.last = false
                slot.preprocessed = 0
                slot.preprocessError = nil
                do {
                    try produce(slot)
                } catch {
                    lock.lock()
                    producerError = error
                    lock.unlock()
                    slot.last = true
                    full.signal()
                    break
                }
                full.signal()
                if slot.last { break }
                i += 1
            }
            done.signal()
        }
        thread.stackSize = 1 << 20
        thread.start()
        var consumeError: (any Error)?
        var i = 0
        while true {
            full.wait()
            let slot = slots[i % slots.count]
            lock.lock()
            let pErr = producerError
            lock.unlock()
            if pErr != nil { break }
            do { try consume(slot) } catch {
                consumeError = error
                lock.lock()
                cancelled = true
                lock.unlock()
                free.signal()
                break
            }
            let last = slot.last
            free.signal()
            if last { break }
            i += 1
        }
        done.wait()
        lock.lock()
        let pErr = producerError
        lock.unlock()
        if let pErr { throw pErr }
        if let consumeError { throw consumeError }
    }
}

/// Stage timings on stderr when SEALGATE_TRACE is set (for `make bench` and tuning).
final class StageTrace {
    /// Read once a process: the environment is copied into a dictionary each time it is asked
    /// (1.6 % of the intake's CPU when each open asked it).
    private static let on = ProcessInfo.processInfo.environment["SEALGATE_TRACE"] != nil
    private let enabled = StageTrace.on
    private var last = DispatchTime.now()
    func mark(_ stage: String) {
        guard enabled else { return }
        let now = DispatchTime.now()
        let ms = Double(now.uptimeNanoseconds - last.uptimeNanoseconds) / 1e6
        FileHandle.standardError.write(Data("trace: \(stage): \(String(format: "%.1f", ms)) ms\n".utf8))
        last = now
    }
}
