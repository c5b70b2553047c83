import CSystemZlib

/// Raw deflate (RFC 1951) inflated with zlib, with the true length of every input given (a
/// zip member's data, for the workbook reader): a stream that needs input past the end of what
/// it is given is the caller's to refuse (`isFinished` stays false), never a loop or a read
/// past a buffer. Not crypto; it sits here because this module is the one that imports C.
public final class RawInflate {
    /// zlib refused the data (not deflate, a bad block, …).
    public struct Failure: Error, Sendable {
        public let code: Int32
    }

    private var stream = z_stream()
    private var output: [UInt8]
    /// The deflate stream's last block has ended.
    public private(set) var isFinished = false

    public init(chunk: Int = 1 << 16) throws {
        output = [UInt8](repeating: 0, count: max(chunk, 1024))
        let rc = inflateInit2_(&stream, -MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw Failure(code: rc) }
    }

    deinit { inflateEnd(&stream) }

    /// Inflates `input` (all of it, unless the stream ends within it), handing each piece of
    /// output to `sink`; what follows the stream's end in `input` is ignored.
    public func feed(_ input: UnsafeRawBufferPointer, _ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard !isFinished, let base = input.baseAddress, input.count > 0 else { return }
        stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        defer {
            stream.next_in = nil
            stream.avail_in = 0
        }
        let size = output.count
        while true {
            let (rc, produced) = output.withUnsafeMutableBytes { out -> (Int32, Int) in
                stream.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(size)
                let rc = inflate(&stream, Z_NO_FLUSH)
                stream.next_out = nil
                return (rc, size - Int(stream.avail_out))
            }
            guard rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR else { throw Failure(code: rc) }
            if produced > 0 { try output.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) } }
            if rc == Z_STREAM_END {
                isFinished = true
                return
            }
            // All input taken and the output not full: zlib wants more input.
            if stream.avail_in == 0 && produced < size { return }
            // No progress at all: more input is needed (Z_BUF_ERROR).
            if rc == Z_BUF_ERROR && produced == 0 { return }
        }
    }
}
