import FTCore

/// Fractions of the examples that go to train, validation and test.
public struct SplitRatios: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Fraction for training; must be > 0.
    public var train: Double
    /// Fraction for validation; 0 means no validation split.
    public var validation: Double
    /// Fraction for test; 0 means no test split.
    public var test: Double

    /// The seed guide's 8:1:1 by default.
    public init(train: Double = 0.8, validation: Double = 0.1, test: Double = 0.1) {
        self.train = train
        self.validation = validation
        self.test = test
    }

    /// 0.8 / 0.1 / 0.1.
    public static let `default` = SplitRatios()

    /// Checks that each ratio is finite and ≥ 0, train is > 0, and they sum to 1 within 1e-6.
    public func validate() throws {
        for (name, value) in [("train", train), ("validation", validation), ("test", test)] {
            guard value.isFinite, value >= 0 else { throw DataError.invalidSplit("the \(name) ratio is \(value); ratios must be ≥ 0") }
        }
        guard train > 0 else { throw DataError.invalidSplit("the train ratio is 0; the training split cannot be empty") }
        let sum = train + validation + test
        guard abs(sum - 1) <= 1e-6 else {
            throw DataError.invalidSplit("ratios \(self) sum to \(sum), not 1")
        }
    }

    public var description: String { "\(train)/\(validation)/\(test)" }
}

/// Sizes of the three splits (overall or of one class).
public struct SplitCounts: Sendable, Equatable, CustomStringConvertible {
    public var train: Int
    public var validation: Int
    public var test: Int

    public init(train: Int, validation: Int, test: Int) {
        self.train = train
        self.validation = validation
        self.test = test
    }

    /// Sum of the three.
    public var total: Int { train + validation + test }
    public var description: String { "\(train)/\(validation)/\(test)" }
}

/// The three parts of a data set.
public struct DatasetSplits: Sendable {
    /// Training examples, classes interleaved.
    public var train: [TextExample]
    /// Validation examples (may be empty).
    public var validation: [TextExample]
    /// Test examples (may be empty).
    public var test: [TextExample]

    public init(train: [TextExample], validation: [TextExample], test: [TextExample]) {
        self.train = train
        self.validation = validation
        self.test = test
    }
}

/// A seeded, stratified train/validation/test split: each class is spread over the splits in
/// (nearly) the proportions of the ratios, like scikit-learn's `stratify=`, but in one step for all
/// three splits and with exact totals.
///
/// The rule, in order:
/// 1. **Split sizes.** `N·ratio` for each split, rounded by largest remainder (floors first, then one
///    more to the largest fractional parts; ties go to train, then validation, then test), so the
///    sizes sum to `N` exactly. A split with a ratio > 0 gets at least one example, taken from the
///    largest split.
/// 2. **Per class**, test and then validation take `count_c · size_s / N` examples of class `c`,
///    rounded by largest remainder *within the split* so the split's size is exact (ties go to the
///    class that comes first in `LabelSet` order), subject to two bounds:
///    - every class keeps at least one example in train (the label set is built from train);
///    - a class with at least as many examples as there are non-empty splits (3 for 80/10/10) gets at
///      least one example in every non-empty split — when the split has room for one example of
///      every such class; when it does not, the largest classes get them.
/// 3. Train takes the rest of each class.
///
/// The allocation depends only on the class counts and ratios. The seed decides which examples go
/// where: each class's examples (in input order) are shuffled, then cut into test, validation and
/// train; finally each split is shuffled so classes interleave. One `SeededRNG(seed:)` drives it all,
/// so the same input and seed give the same splits on every machine.
public enum StratifiedSplit {
    /// Split sizes for `total` examples (rule 1).
    public static func splitSizes(total: Int, ratios: SplitRatios) throws -> SplitCounts {
        try ratios.validate()
        let shares = [ratios.train, ratios.validation, ratios.test]
        let needed = shares.filter { $0 > 0 }.count
        guard total >= needed else {
            throw DataError.invalidSplit("\(total) example\(total == 1 ? "" : "s") cannot fill \(needed) splits with ratios \(ratios)")
        }
        let exact = shares.map { Double(total) * $0 }
        // The 1e-9 keeps 0.29 · 100 = 28.999999999999996 from flooring to 28.
        var sizes = exact.map { Int(($0 + 1e-9).rounded(.down)) }
        // Ratios may sum to 1 ± 1e-6, so for large N the floors can overshoot by one or fall short by
        // more than two; both loops below bring the sum back to `total`.
        var left = total - sizes.reduce(0, +)
        let order = (0..<3).sorted { (exact[$0] - Double(sizes[$0]), -$0) > (exact[$1] - Double(sizes[$1]), -$1) }
        var k = 0
        while left > 0 {
            sizes[order[k % 3]] += 1
            left -= 1
            k += 1
        }
        while left < 0 {
            let s = sizes.indices.max { sizes[$0] < sizes[$1] }!
            sizes[s] -= 1
            left += 1
        }
        for s in 1..<3 where shares[s] > 0 && sizes[s] == 0 {
            let largest = sizes.indices.max { sizes[$0] < sizes[$1] }!
            sizes[largest] -= 1
            sizes[s] = 1
        }
        return SplitCounts(train: sizes[0], validation: sizes[1], test: sizes[2])
    }

    /// How many examples of each class go to each split (rules 1–3), for classes in the given order.
    public static func allocate(classCounts: [Int], ratios: SplitRatios) throws -> [SplitCounts] {
        precondition(classCounts.allSatisfy { $0 > 0 }, "class counts must be positive")
        let total = classCounts.reduce(0, +)
        let sizes = try splitSizes(total: total, ratios: ratios)
        guard sizes.train >= classCounts.count else {
            throw DataError.invalidSplit(
                "the training split would hold \(sizes.train) examples, fewer than the \(classCounts.count) classes it must all contain; use more data or a larger train ratio"
            )
        }
        let nonEmpty = [sizes.train, sizes.validation, sizes.test].filter { $0 > 0 }.count
        let spread = classCounts.map { $0 >= nonEmpty }  // classes owed one example per non-empty split
        let owed = spread.filter { $0 }.count
        let validationOwes = sizes.validation > 0 && owed <= sizes.validation
        let testOwes = sizes.test > 0 && owed <= sizes.test

        var remaining = classCounts
        func take(size: Int, owes: Bool, reserveForValidation: Bool) -> [Int] {
            let ideal = classCounts.map { Double($0) * Double(size) / Double(total) }
            let lower = spread.map { owes && $0 ? 1 : 0 }
            let upper = classCounts.indices.map { c in
                remaining[c] - 1 - (reserveForValidation && spread[c] ? 1 : 0)
            }
            let counts = boundedLargestRemainder(ideal: ideal, total: size, lower: lower, upper: upper)
            for c in counts.indices { remaining[c] -= counts[c] }
            return counts
        }
        let test = take(size: sizes.test, owes: testOwes, reserveForValidation: validationOwes)
        let validation = take(size: sizes.validation, owes: validationOwes, reserveForValidation: false)
        return classCounts.indices.map { SplitCounts(train: remaining[$0], validation: validation[$0], test: test[$0]) }
    }

    /// Rounds `ideal` to integers summing to `total` within `lower...upper` per entry: floors (clamped),
    /// then +1 to the entries furthest below their ideal, or −1 to those furthest above.
    /// Requires `Σlower ≤ total ≤ Σupper` (guaranteed by `allocate`'s checks).
    static func boundedLargestRemainder(ideal: [Double], total: Int, lower: [Int], upper: [Int]) -> [Int] {
        var x = ideal.indices.map { min(max(Int(ideal[$0].rounded(.down)), lower[$0]), upper[$0]) }
        var sum = x.reduce(0, +)
        while sum < total {
            var best = -1
            for k in x.indices where x[k] < upper[k] {
                if best < 0 || ideal[k] - Double(x[k]) > ideal[best] - Double(x[best]) { best = k }
            }
            precondition(best >= 0, "no room to place \(total) examples")
            x[best] += 1
            sum += 1
        }
        while sum > total {
            var best = -1
            for k in x.indices where x[k] > lower[k] {
                if best < 0 || ideal[k] - Double(x[k]) < ideal[best] - Double(x[best]) { best = k }
            }
            precondition(best >= 0, "lower bounds exceed \(total)")
            x[best] -= 1
            sum -= 1
        }
        return x
    }

    /// Splits `examples` by label (rules above) with the given seed.
    /// - Throws: `DataError.invalidSplit` for invalid ratios or too few examples.
    public static func split(_ examples: [TextExample], ratios: SplitRatios = .default, seed: UInt64) throws -> DatasetSplits {
        guard !examples.isEmpty else { throw DataError.invalidSplit("there are no examples to split") }
        let classes = LabelSet(training: examples)
        var members = [[Int]](repeating: [], count: classes.count)
        for (index, example) in examples.enumerated() { members[classes.id(for: example.label)!].append(index) }
        let plan = try allocate(classCounts: members.map(\.count), ratios: ratios)

        var rng = SeededRNG(seed: seed, stream: RandomStreams.base)
        var splits = DatasetSplits(train: [], validation: [], test: [])
        for (c, counts) in plan.enumerated() {
            var indices = members[c]
            SeededShuffle.shuffle(&indices, using: &rng)
            splits.test += indices[0..<counts.test].map { examples[$0] }
            splits.validation += indices[counts.test..<(counts.test + counts.validation)].map { examples[$0] }
            splits.train += indices[(counts.test + counts.validation)...].map { examples[$0] }
        }
        SeededShuffle.shuffle(&splits.train, using: &rng)
        SeededShuffle.shuffle(&splits.validation, using: &rng)
        SeededShuffle.shuffle(&splits.test, using: &rng)
        return splits
    }
}
