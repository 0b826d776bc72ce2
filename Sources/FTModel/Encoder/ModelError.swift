/// Errors from loading or configuring a model. Each message names the file and what is wrong.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case missingFile(String)
    case badConfig(String, String)
    case missingTensor(file: String, tensor: String)
    case shapeMismatch(file: String, tensor: String, expected: [Int], found: [Int])
    case badInput(String)

    public var description: String {
        switch self {
        case .missingFile(let path):
            return "\(path): file not found"
        case .badConfig(let path, let reason):
            return "\(path): \(reason)"
        case .missingTensor(let file, let tensor):
            return "\(file): tensor \"\(tensor)\" is missing (looked for it with and without the family's prefix, such as \"bert.\")"
        case .shapeMismatch(let file, let tensor, let expected, let found):
            return "\(file): tensor \"\(tensor)\" has shape \(found), the config implies \(expected)"
        case .badInput(let reason):
            return reason
        }
    }
}
