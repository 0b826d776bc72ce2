import Foundation

/// Reading `lineage.json` back, strictly: every field the format defines must be there with its
/// type, or the error names the file and the field.
extension LineageRecord {
    /// Where the record of `path` is: `path/lineage.json` for a directory, `path` itself for a
    /// `.json` file, else the record beside a one-file model (`model.gguf.lineage.json`).
    public static func location(of path: String) -> String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            return (path as NSString).appendingPathComponent(fileName)
        }
        if path.lowercased().hasSuffix(".json") { return path }
        return path + sidecarSuffix
    }

    /// The record at `file` and the JSON object it was read from.
    /// - Throws: `LineageError.notFound` when there is no file, `.malformed` naming the file and
    ///   the problem otherwise.
    public static func read(file: String) throws -> (record: LineageRecord, object: [String: Any]) {
        guard let data = FileManager.default.contents(atPath: file) else { throw LineageError.notFound("\(file): no such file") }
        func bad(_ reason: String) -> LineageError { .malformed(path: file, reason: reason) }
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: data) } catch { throw bad("not JSON (\(Self.jsonErrorDetail(error)))") }
        guard let object = parsed as? [String: Any] else { throw bad("the top level is not a JSON object") }
        guard let format = object["format"] as? String else { throw bad("no \"format\" string (expected \"\(Self.format)\")") }
        guard format == Self.format else { throw bad("format is \"\(format)\", this fttrain reads \"\(Self.format)\"") }

        func string(_ key: String, in object: [String: Any], at place: String = "") throws -> String {
            guard let value = object[key] as? String else { throw bad("\(place)\"\(key)\" must be a string, found \(describe(object[key]))") }
            return value
        }
        func optionalString(_ key: String, in object: [String: Any], at place: String = "") throws -> String? {
            guard let value = object[key], !(value is NSNull) else { return nil }
            guard let text = value as? String else { throw bad("\(place)\"\(key)\" must be a string or null, found \(describe(value))") }
            return text
        }
        func inputs(_ value: Any?, _ name: String) throws -> [LineageInput] {
            guard let list = value as? [Any] else { throw bad("\"\(name)\" must be a list, found \(describe(value))") }
            return try list.enumerated().map { index, element in
                let place = "\(name)[\(index)]."
                guard let entry = element as? [String: Any] else { throw bad("\(name)[\(index)] must be an object, found \(describe(element))") }
                guard let bytes = entry["bytes"] as? NSNumber, bytes.doubleValue == Double(bytes.intValue) else {
                    throw bad("\(place)\"bytes\" must be an integer, found \(describe(entry["bytes"]))")
                }
                return LineageInput(
                    role: try string("role", in: entry, at: place), path: try string("path", in: entry, at: place),
                    sha256: try string("sha256", in: entry, at: place), bytes: bytes.intValue)
            }
        }

        let createdText = try string("created", in: object)
        guard let created = dateFormatter.date(from: createdText) ?? plainDateFormatter.date(from: createdText) else {
            throw bad("\"created\" is not an ISO 8601 date: \(createdText)")
        }
        var record = LineageRecord(
            command: try string("command", in: object), created: created,
            environment: LineageEnvironment(
                version: try string("fttrain_version", in: object), gitCommit: try optionalString("git_commit", in: object),
                gitDirty: object["git_dirty"] as? Bool))
        record.runId = try string("run_id", in: object)
        record.inputs = try inputs(object["inputs"], "inputs")
        switch object["split"] {
        case nil, is NSNull: break
        case let split as [String: String]: record.split = split
        case let other: throw bad("\"split\" must be an object of split names to sums, or null; found \(describe(other))")
        }
        switch object["base_model"] {
        case nil, is NSNull: break
        case let model as [String: Any]:
            record.baseModel = LineageModel(
                path: try string("path", in: model, at: "base_model."), sha256: try string("sha256", in: model, at: "base_model."),
                files: try inputs(model["files"] ?? [Any](), "base_model.files"))
        case let other: throw bad("\"base_model\" must be an object or null, found \(describe(other))")
        }
        guard let settings = object["settings"] as? [String: Any] else {
            throw bad("\"settings\" must be an object, found \(describe(object["settings"]))")
        }
        record.settings = settings
        guard let metrics = object["metrics"] as? [String: Any] else {
            throw bad("\"metrics\" must be an object, found \(describe(object["metrics"]))")
        }
        for (key, value) in metrics {
            guard let number = value as? NSNumber else { throw bad("metrics.\"\(key)\" must be a number, found \(describe(value))") }
            record.metrics[key] = number.doubleValue
        }
        switch object["parent"] {
        case nil, is NSNull: break
        case let parent as [String: Any]:
            record.parent = LineageParent(
                runId: try optionalString("run_id", in: parent, at: "parent."), path: try string("path", in: parent, at: "parent."))
        case let other: throw bad("\"parent\" must be an object or null, found \(describe(other))")
        }
        record.step = (object["step"] as? NSNumber)?.intValue
        return (record, object)
    }

    private static func describe(_ value: Any?) -> String {
        switch value {
        case nil: return "nothing (the field is missing)"
        case is NSNull: return "null"
        case is String: return "a string"
        case is NSNumber: return "a number"
        case is [Any]: return "a list"
        case is [String: Any]: return "an object"
        default: return "a value of another type"
        }
    }

    private static func jsonErrorDetail(_ error: Error) -> String {
        (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
    }
}
