import Foundation
import SealCrypto

/// Where a zip member's data lies and how it is stored — read from the archive's central
/// directory here, because ZIPFoundation does not say, so that a member is read within its own
/// bytes: ZIPFoundation's inflating on Linux keeps asking for input past a member whose deflate
/// data ends too soon (it never returns) and hands zlib more length than it read.
struct MemberLocation: Sendable, Equatable {
    /// 0 stored, 8 deflated.
    let method: UInt16
    let dataOffset: UInt64
    let compressedSize: UInt64
    let crc: UInt32
}

enum ZipDirectory {
    /// The central directory's members by name (a zip64 archive is refused: Excel writes none
    /// for a workbook of the sizes read here).
    static func locations(path: String, fileSize: UInt64, display: String) throws -> [String: MemberLocation] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw WorkbookError.malformed("\(display) cannot be read") }
        defer { close(fd) }
        func read(_ offset: UInt64, _ count: Int) throws -> [UInt8] {
            var out = [UInt8](repeating: 0, count: count)
            var done = 0
            while done < count {
                let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw WorkbookError.malformed("\(display) ends inside its zip directory (a damaged zip archive)") }
                done += n
            }
            return out
        }
        func u16(_ b: [UInt8], _ i: Int) -> UInt64 { UInt64(b[i]) | UInt64(b[i + 1]) << 8 }
        func u32(_ b: [UInt8], _ i: Int) -> UInt64 { u16(b, i) | u16(b, i + 2) << 16 }
        let damaged = WorkbookError.malformed("\(display) is not an Excel workbook (a damaged zip directory)")

        // The end of central directory record: in the last 22 + 65,535 bytes (its comment).
        guard fileSize >= 22 else { throw damaged }
        let tailLength = Int(min(fileSize, 22 + 65_535))
        let tailStart = fileSize - UInt64(tailLength)
        let tail = try read(tailStart, tailLength)
        let isEnd = { (i: Int) in tail[i] == 0x50 && tail[i + 1] == 0x4B && tail[i + 2] == 0x05 && tail[i + 3] == 0x06 }
        guard let at = stride(from: tailLength - 22, through: 0, by: -1).first(where: isEnd) else { throw damaged }
        let count = u16(tail, at + 10)
        let size = u32(tail, at + 12)
        let offset = u32(tail, at + 16)
        guard count != 0xFFFF, size != 0xFFFF_FFFF, offset != 0xFFFF_FFFF else {
            throw WorkbookError.tooLarge("\(display) is a zip64 archive (Excel writes none for a workbook of this size)")
        }
        let end = tailStart + UInt64(at)
        guard offset + size <= end, size <= 64 << 20 else { throw damaged }
        let directory = try read(offset, Int(size))

        var found: [String: MemberLocation] = [:]
        var p = 0
        while p + 46 <= directory.count {
            guard directory[p] == 0x50, directory[p + 1] == 0x4B, directory[p + 2] == 0x01, directory[p + 3] == 0x02 else { throw damaged }
            let method = UInt16(u16(directory, p + 10))
            let crc = UInt32(u32(directory, p + 16))
            let compressed = u32(directory, p + 20)
            let uncompressed = u32(directory, p + 24)
            let (n, e, c) = (Int(u16(directory, p + 28)), Int(u16(directory, p + 30)), Int(u16(directory, p + 32)))
            let local = u32(directory, p + 42)
            guard p + 46 + n + e + c <= directory.count else { throw damaged }
            guard compressed != 0xFFFF_FFFF, uncompressed != 0xFFFF_FFFF, local != 0xFFFF_FFFF else {
                throw WorkbookError.tooLarge("\(display) is a zip64 archive (Excel writes none for a workbook of this size)")
            }
            let name = String(decoding: directory[(p + 46)..<(p + 46 + n)], as: UTF8.self)
            // The member's own header, then its data: all of it before the central directory.
            guard local + 30 <= offset else { throw damaged }
            let header = try read(local, 30)
            guard header[0] == 0x50, header[1] == 0x4B, header[2] == 0x03, header[3] == 0x04 else { throw damaged }
            let data = local + 30 + u16(header, 26) + u16(header, 28)
            guard data + compressed <= offset else {
                throw WorkbookError.unsafe("\(display): the zip member \(Workbook.shown(name)) runs past its place in the archive")
            }
            if found[name] == nil { found[name] = MemberLocation(method: method, dataOffset: data, compressedSize: compressed, crc: crc) }
            p += 46 + n + e + c
        }
        return found
    }
}

/// One member's bytes, stored or deflated, read in chunks strictly within its compressed size
/// and inflated by zlib with the true length of each chunk (`RawInflate`); a deflate stream
/// that needs more than the member holds is refused.
enum MemberReader {
    static func read(
        path: String, _ member: MemberLocation, chunk: Int, what: String, _ consumer: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw WorkbookError.malformed("\(what) cannot be read") }
        defer { close(fd) }
        let inflate: RawInflate?
        switch member.method {
        case 0: inflate = nil
        case 8: inflate = try RawInflate(chunk: chunk)
        default: throw WorkbookError.malformed("\(what) is compressed with method \(member.method), not deflate (a damaged zip archive)")
        }
        var buffer = [UInt8](repeating: 0, count: chunk)
        var offset = member.dataOffset
        var left = member.compressedSize
        while left > 0 {
            let want = Int(min(UInt64(chunk), left))
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(offset)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw WorkbookError.malformed("\(what) ends before its data does (a damaged zip archive)") }
            offset += UInt64(n)
            left -= UInt64(n)
            do {
                try buffer.withUnsafeBytes { raw in
                    let piece = UnsafeRawBufferPointer(rebasing: raw[0..<n])
                    if let inflate { try inflate.feed(piece, consumer) } else { try consumer(piece) }
                }
            } catch is RawInflate.Failure {
                throw WorkbookError.malformed("\(what) cannot be inflated (a damaged zip archive)")
            }
            if inflate?.isFinished == true { return }
        }
        if let inflate, !inflate.isFinished {
            throw WorkbookError.malformed("\(what): its compressed data ends before its deflate stream does (a damaged zip archive)")
        }
    }
}
