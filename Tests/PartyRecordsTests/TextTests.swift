import Testing

@testable import PartyRecords

struct TextTests {
    @Test func decompositionTableCoversVietnamese() {
        #expect(Decompose.table.count > 100, "table has \(Decompose.table.count)")
        let name = "Nguyễn Thị Ánh Tuyết"
        let nfd = Decompose.nfd(name)
        #expect(!sameBytes(nfd, name), "String == is canonical equivalence; compare bytes")
        #expect(nfd.unicodeScalars.count > name.unicodeScalars.count)
        #expect(Text.nfc(nfd) == name)
        #expect(Array(Text.nfc(nfd).utf8) == Array(name.utf8))
    }
}
