import Foundation
import Testing
@testable import Tokenizer

struct TextFileTests {
    @Test func byteOrderMarkIsDroppedAndCRLFKept() throws {
        #expect(try decodeUTF8Text([0xEF, 0xBB, 0xBF, 0x61, 0x0D, 0x0A], file: "t") == "a\r\n")
        #expect(try decodeUTF8Text([0x61, 0xEF, 0xBB, 0xBF], file: "t") == "a\u{FEFF}")  // only a leading BOM
    }

    @Test func invalidUTF8NamesTheFileOffset() {
        // BOM (3 bytes) + "ab" + a lone continuation byte at offset 5.
        #expect(throws: TokenizerError.invalidUTF8(file: "t", byteOffset: 5)) {
            try decodeUTF8Text([0xEF, 0xBB, 0xBF, 0x61, 0x62, 0x80], file: "t")
        }
        // An overlong "/" (C0 AF) at offset 1.
        #expect(throws: TokenizerError.invalidUTF8(file: "t", byteOffset: 1)) {
            try decodeUTF8Text([0x61, 0xC0, 0xAF], file: "t")
        }
    }

    @Test func readsAFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("owlprune-textfile-\(UUID()).txt")
        try Data([0xEF, 0xBB, 0xBF] + Array("é\r\n".utf8)).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(try readTextFile(url) == "é\r\n")
    }
}
