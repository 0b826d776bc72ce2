import XCTest

/// Asserts `|actual − expected| ≤ atol + rtol·|expected|` element-wise, reporting the worst
/// element and how many failed, so a mismatch fails loudly with the tensor's name.
public func assertClose(
    _ actual: [Float], _ expected: [Float], atol: Float, rtol: Float, _ name: String,
    file: StaticString = #filePath, line: UInt = #line
) {
    guard actual.count == expected.count else {
        XCTFail("\(name): \(actual.count) elements, expected \(expected.count)", file: file, line: line)
        return
    }
    var failures = 0
    var worstIndex = -1
    var worstExcess: Float = 0
    for i in 0..<actual.count {
        let bound = atol + rtol * abs(expected[i])
        let error = abs(actual[i] - expected[i])
        if !(error <= bound) {
            failures += 1
            if error - bound > worstExcess || worstIndex < 0 {
                worstExcess = error - bound
                worstIndex = i
            }
        }
    }
    if failures > 0 {
        XCTFail(
            "\(name): \(failures)/\(actual.count) elements outside atol \(atol) + rtol \(rtol); worst at [\(worstIndex)]: \(actual[worstIndex]) vs \(expected[worstIndex])",
            file: file, line: line)
    }
}

/// The largest |a − b| over two equal-length arrays.
public func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
