import Foundation

extension TrainingConfiguration {
    /// Applies command-line flags on top of the current values (flags beat the file).
    ///
    /// `arguments` are the raw arguments a subcommand did not recognise, e.g.
    /// `["--learning-rate", "3e-5", "--num-train-epochs=2", "--load-best-model-at-end"]`:
    /// - a flag is a key in kebab-case (`--learning-rate`) or snake_case (`--learning_rate`), its value
    ///   the next argument or after `=`; the last occurrence of a flag wins;
    /// - a boolean key is `--flag` (true), `--flag true|false|yes|no`, `--flag=false`, or `--no-flag`;
    ///   `--trace FILE` (or `--trace=FILE`) is `--trace --trace-file FILE` (`fileValuedFlags`);
    /// - a list key takes comma-separated values: `--split-ratios 0.8,0.1,0.1`;
    /// - an optional key is cleared with `null` (or `none`): `--eval-steps null`;
    /// - `class_weights` takes `balanced`, `1,2.5,1`, or `fresh=1,rotten=1.4`.
    ///
    /// Every problem (unknown flag with a suggestion, missing or unparsable value, stray argument) is
    /// collected; then one `ConfigurationError` with source `command line` is thrown and nothing is applied.
    public mutating func applyOverrides(_ arguments: [String]) throws {
        var result = self
        var problems: [ConfigurationProblem] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--"), argument.count > 2 else {
                problems.append(
                    ConfigurationProblem(
                        kind: .unknownFlag, key: argument,
                        message: "unexpected argument `\(argument)`: settings are given as `--key value` or `--key=value`"))
                continue
            }
            var body = Substring(argument.dropFirst(2))
            var inlineValue: String?
            if let equals = body.firstIndex(of: "=") {
                inlineValue = String(body[body.index(after: equals)...])
                body = body[..<equals]
            }
            let name = body.replacingOccurrences(of: "-", with: "_")
            var negated = false
            var found = ConfigurationKey.named(name)
            if found == nil, name.hasPrefix("no_"), let key = ConfigurationKey.named(String(name.dropFirst(3))), key.isBoolean {
                found = key
                negated = true
            }
            guard let key = found else {
                problems.append(Self.unknownFlagProblem(flag: "--" + body, name: name))
                // A following non-flag is this unknown flag's value: skip it rather than report it too.
                if inlineValue == nil, index < arguments.count, !arguments[index].hasPrefix("--") { index += 1 }
                continue
            }
            let text: String
            if negated {
                guard inlineValue == nil else {
                    problems.append(
                        ConfigurationProblem(
                            kind: .wrongType, key: key.name,
                            message: "`\(argument)` takes no value; use `\(key.flag)=\(inlineValue!)` instead"))
                    continue
                }
                text = "false"
            } else if let inlineValue {
                text = inlineValue
            } else if key.isBoolean {
                // `--flag` alone means true; `--flag false` consumes the next argument only if it is a
                // boolean (or, for `--trace`, a file).
                var probe = result
                if index < arguments.count, !arguments[index].hasPrefix("--"),
                    key.parse(&probe, arguments[index]) || Self.fileValuedFlags[key.name] != nil
                {
                    text = arguments[index]
                    index += 1
                } else {
                    text = "true"
                }
            } else {
                guard index < arguments.count, !arguments[index].hasPrefix("--") else {
                    problems.append(
                        ConfigurationProblem(
                            kind: .missingFlagValue, key: key.name,
                            message: "`\(key.flag)` needs a value: \(key.expected)"))
                    continue
                }
                text = arguments[index]
                index += 1
            }
            if key.parse(&result, text) { continue }
            if let fileKey = Self.fileValuedFlags[key.name].flatMap(ConfigurationKey.named), fileKey.parse(&result, text) {
                _ = key.parse(&result, "true")  // `--trace FILE`
                continue
            }
            problems.append(
                ConfigurationProblem(
                    kind: .wrongType, key: key.name,
                    message: "`\(key.flag)` must be \(key.expected), found `\(text)`"))
        }
        if !problems.isEmpty { throw ConfigurationError(source: "command line", problems: problems) }
        self = result
    }

    /// Boolean keys whose flag may name a file instead, as issue 17 writes `--trace FILE`: a value
    /// that is not a boolean sets the file key (which turns the boolean on too). Files keep the two
    /// keys apart (`trace: true`, `trace_file: out/trace.json`).
    static let fileValuedFlags: [String: String] = ["trace": "trace_file"]

    /// A copy with `arguments` applied; see `applyOverrides(_:)`.
    public func applyingOverrides(_ arguments: [String]) throws -> TrainingConfiguration {
        var copy = self
        try copy.applyOverrides(arguments)
        return copy
    }

    static func unknownFlagProblem(flag: String, name: String) -> ConfigurationProblem {
        let suggestion = KeySuggestion.suggestion(for: name, among: ConfigurationKey.all.map(\.name))
        var message = "unknown flag `\(flag)`"
        if name == "fp16" {
            message += ": " + KeySuggestion.fp16Refusal
        } else if let suggestion, let key = ConfigurationKey.named(suggestion) {
            message += "; did you mean `\(key.flag)`?"
        } else if KeySuggestion.unsupportedHuggingFaceKeys.contains(name) {
            message += ": a Hugging Face TrainingArguments setting that fttrain does not implement"
        }
        return ConfigurationProblem(kind: .unknownFlag, key: name, message: message, suggestion: suggestion)
    }
}
