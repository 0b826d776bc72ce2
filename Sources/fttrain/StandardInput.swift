import Foundation

/// Reads standard input as UTF-8 lines. A line ending `\r\n` loses both characters; a last line
/// without a newline still counts; invalid UTF-8 is an error naming the line.
func readStandardInputLines() throws -> [String] {
    let data = FileHandle.standardInput.readDataToEndOfFile()
    var lines: [String] = []
    var start = data.startIndex
    var number = 0
    func take(_ end: Data.Index) throws {
        number += 1
        var slice = data[start..<end]
        if slice.last == UInt8(ascii: "\r") { slice = slice.dropLast() }
        guard let line = String(data: slice, encoding: .utf8) else {
            throw CLIError("standard input, line \(number): not valid UTF-8")
        }
        lines.append(line)
    }
    while let newline = data[start...].firstIndex(of: UInt8(ascii: "\n")) {
        try take(newline)
        start = data.index(after: newline)
    }
    if start < data.endIndex { try take(data.endIndex) }
    return lines
}

/// An error the command line reports as is.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
