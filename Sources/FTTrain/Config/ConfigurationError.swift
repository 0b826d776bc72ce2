import Foundation

/// One thing wrong with a configuration, named by the key (or flag) it concerns.
public struct ConfigurationProblem: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The file cannot be read, or is not valid YAML/JSON, or is not a mapping of keys to values.
        case malformed
        /// A key in a file that is not a setting.
        case unknownKey
        /// A command-line flag that is not a setting, or an argument that is not a flag.
        case unknownFlag
        /// A flag given without the value it needs.
        case missingFlagValue
        /// A value of the wrong type, or a string outside a closed set.
        case wrongType
        /// A required setting (`output_dir`, `model_dir`, `train_file`) that is not set.
        case missingSetting
        /// A value that is well-typed but impossible, alone or together with another setting.
        case invalidValue
    }

    public var kind: Kind
    /// The snake_case key concerned (for an unknown key or flag: the name as given), if any.
    public var key: String?
    /// A sentence naming the key and the offending value.
    public var message: String
    /// For an unknown key or flag: the closest known key, if one is close.
    public var suggestion: String?

    public init(kind: Kind, key: String?, message: String, suggestion: String? = nil) {
        self.kind = kind
        self.key = key
        self.message = message
        self.suggestion = suggestion
    }

    public var description: String { message }
}

/// Everything wrong with a configuration file, a set of flags, or the merged result: all problems
/// are collected and reported together, so one run of the tool shows every mistake.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    /// Where the values came from: a file path, `command line`, or nil for a merged configuration.
    public var source: String?
    public var problems: [ConfigurationProblem]

    public init(source: String?, problems: [ConfigurationProblem]) {
        self.source = source
        self.problems = problems
    }

    /// The keys named by the problems, in order (handy in tests and for tools).
    public var keys: [String] { problems.compactMap(\.key) }

    public var description: String {
        let origin = source.map { "\($0): " } ?? "invalid configuration: "
        if problems.count == 1 { return origin + problems[0].message }
        return origin + "\(problems.count) problems\n" + problems.map { "  - \($0.message)" }.joined(separator: "\n")
    }

    public var errorDescription: String? { description }
}
