/// A pruning request fttrain cannot carry out, with what to change.
public struct PruningError: Error, CustomStringConvertible, Equatable {
    public let description: String

    public init(_ description: String) { self.description = description }
}
