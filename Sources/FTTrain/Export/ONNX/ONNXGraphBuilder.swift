import Foundation

/// A small builder of one ONNX graph (opset 17, the default domain): float32 initializers, nodes
/// with their attributes, graph inputs and outputs with symbolic dimensions. Each `add…` returns
/// the name of the value it produces, so a graph reads like the computation it is:
///
///     let h = graph.add("MatMul", [x, w])
///     let y = graph.add("Add", [h, b])
///
/// Node and value names are unique (`op_N` / the op's name numbered) unless the caller names an
/// output (`output:`), as graph outputs must be (`logits`).
struct ONNXGraphBuilder {
    /// The opset the graph is written for: LayerNormalization is in it, Gelu is not (opset 20).
    static let opsetVersion: Int64 = 17
    /// IR version 8 is the one of opset 17 (ONNX 1.12).
    static let irVersion: Int64 = 8

    private(set) var graph = Onnx_GraphProto()
    private var counter = 0
    /// Initializer names already used (a name must be unique in the graph).
    private var initializerNames: Set<String> = []

    init(name: String) {
        graph.name = name
    }

    // MARK: - Values

    /// A graph input or output of element type `type` and dimensions either fixed (`.value`) or
    /// symbolic (`.parameter("batch")`: ONNX Runtime accepts any size there).
    enum Dimension: Equatable {
        case value(Int)
        case parameter(String)
    }

    /// Declares a graph input.
    mutating func addInput(_ name: String, type: Onnx_TensorProto.DataType, dimensions: [Dimension]) {
        graph.input.append(Self.valueInfo(name, type: type, dimensions: dimensions))
    }

    /// Declares `name` (a value some node produces) a graph output.
    mutating func addOutput(_ name: String, type: Onnx_TensorProto.DataType, dimensions: [Dimension]) {
        graph.output.append(Self.valueInfo(name, type: type, dimensions: dimensions))
    }

    private static func valueInfo(_ name: String, type: Onnx_TensorProto.DataType, dimensions: [Dimension]) -> Onnx_ValueInfoProto {
        var shape = Onnx_TensorShapeProto()
        shape.dim = dimensions.map { dimension in
            var d = Onnx_TensorShapeProto.Dimension()
            switch dimension {
            case .value(let n): d.dimValue = Int64(n)
            case .parameter(let symbol): d.dimParam = symbol
            }
            return d
        }
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = Int32(type.rawValue)
        tensor.shape = shape
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type.tensorType = tensor
        return info
    }

    // MARK: - Initializers

    /// Adds a float32 initializer of `shape` from `values` (row-major, `shape`'s product many).
    @discardableResult
    mutating func addInitializer(_ name: String, shape: [Int], values: UnsafeBufferPointer<Float>) -> String {
        precondition(values.count == shape.reduce(1, *), "initializer \(name): \(values.count) values for shape \(shape)")
        precondition(!initializerNames.contains(name), "initializer \(name) added twice")
        initializerNames.insert(name)
        var tensor = Onnx_TensorProto()
        tensor.name = name
        tensor.dims = shape.map(Int64.init)
        tensor.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        // raw_data is little-endian float32, which is the memory layout on every platform Swift
        // targets here (x86-64, arm64).
        tensor.rawData = Data(buffer: values)
        graph.initializer.append(tensor)
        return name
    }

    /// Adds a float32 initializer holding the transpose `(columns, rows)` of the row-major
    /// `(rows, columns)` matrix at `values`: a PyTorch `Linear` weight `(out, in)` becomes the
    /// `(in, out)` right operand of `MatMul`, as torch.onnx exports it.
    @discardableResult
    mutating func addTransposedInitializer(_ name: String, rows: Int, columns: Int, values: UnsafePointer<Float>) -> String {
        var transposed = [Float](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            for c in 0..<columns { transposed[c * rows + r] = values[r * columns + c] }
        }
        return transposed.withUnsafeBufferPointer { addInitializer(name, shape: [columns, rows], values: $0) }
    }

    /// A scalar or 1-D constant: float32 (`Constant` node, so it is not mistaken for a weight).
    mutating func constant(_ values: [Float], shape: [Int] = []) -> String {
        var tensor = Onnx_TensorProto()
        tensor.dims = shape.map(Int64.init)
        tensor.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensor.floatData = values
        return add("Constant", [], attributes: [.tensor("value", tensor)])
    }

    /// An int64 constant (shapes, axes, indices): a scalar when `shape` is empty.
    mutating func constant(int64 values: [Int64], shape: [Int]) -> String {
        var tensor = Onnx_TensorProto()
        tensor.dims = shape.map(Int64.init)
        tensor.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        tensor.int64Data = values
        return add("Constant", [], attributes: [.tensor("value", tensor)])
    }

    // MARK: - Nodes

    /// A node attribute.
    enum Attribute {
        case int(String, Int64)
        case ints(String, [Int64])
        case float(String, Float)
        case tensor(String, Onnx_TensorProto)

        var proto: Onnx_AttributeProto {
            var a = Onnx_AttributeProto()
            switch self {
            case .int(let name, let value):
                a.name = name
                a.type = .int
                a.i = value
            case .ints(let name, let values):
                a.name = name
                a.type = .ints
                a.ints = values
            case .float(let name, let value):
                a.name = name
                a.type = .float
                a.f = value
            case .tensor(let name, let value):
                a.name = name
                a.type = .tensor
                a.t = value
            }
            return a
        }
    }

    /// Adds a node of `op` on `inputs`; returns its (single) output's name, `output` when given.
    @discardableResult
    mutating func add(_ op: String, _ inputs: [String], attributes: [Attribute] = [], output: String? = nil) -> String {
        counter += 1
        let name = output ?? "\(op.lowercased())_\(counter)"
        var node = Onnx_NodeProto()
        node.opType = op
        node.name = "\(op)_\(counter)"
        node.input = inputs
        node.output = [name]
        node.attribute = attributes.map(\.proto)
        graph.node.append(node)
        return name
    }

    // MARK: - Model

    /// The model around the graph: IR version, opset import, producer.
    func model(producerVersion: String, docString: String) -> Onnx_ModelProto {
        var model = Onnx_ModelProto()
        model.irVersion = Self.irVersion
        var opset = Onnx_OperatorSetIdProto()
        opset.domain = ""
        opset.version = Self.opsetVersion
        model.opsetImport = [opset]
        model.producerName = "fttrain"
        model.producerVersion = producerVersion
        model.docString = docString
        model.graph = graph
        return model
    }
}

// MARK: - Layers shared by the exporters

extension ONNXGraphBuilder {
    /// `x · Wᵀ + b` for a PyTorch `Linear` weight `(out, in)` stored as the `(in, out)` initializer
    /// `name + ".weight"` (and bias `name + ".bias"`); `x` is `(…, in)`.
    mutating func linear(
        _ x: String, name: String, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, outputs: Int, inputs: Int
    )
        -> String
    {
        let w = addTransposedInitializer(name + ".weight", rows: outputs, columns: inputs, values: weight)
        let b = addInitializer(name + ".bias", shape: [outputs], values: UnsafeBufferPointer(start: bias, count: outputs))
        return add("Add", [add("MatMul", [x, w]), b])
    }

    /// `LayerNormalization` over the last axis with the module's weight and bias.
    mutating func layerNorm(
        _ x: String, name: String, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, channels: Int, epsilon: Float
    )
        -> String
    {
        let w = addInitializer(name + ".weight", shape: [channels], values: UnsafeBufferPointer(start: weight, count: channels))
        let b = addInitializer(name + ".bias", shape: [channels], values: UnsafeBufferPointer(start: bias, count: channels))
        return add("LayerNormalization", [x, w, b], attributes: [.int("axis", -1), .float("epsilon", epsilon)])
    }

    /// Exact GELU, `x · ½ · (1 + erf(x / √2))`: opset 17 has no Gelu, so the erf form, as
    /// torch.onnx writes `nn.GELU()` for it (Div, Erf, Add, Mul, Mul).
    mutating func gelu(_ x: String) -> String {
        let scaled = add("Div", [x, constant([Float(2).squareRoot()])])
        let onePlusErf = add("Add", [add("Erf", [scaled]), constant([1])])
        return add("Mul", [add("Mul", [x, onePlusErf]), constant([0.5])])
    }
}
