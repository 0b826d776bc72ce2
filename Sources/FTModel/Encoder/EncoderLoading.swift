import FTCore
import Foundation

extension EncoderModel {
    /// Fills the parameters from a safetensors file of Hugging Face names, with or without the
    /// family's base prefix (a `BertModel` vs a `BertFor...` checkpoint). Old BERT checkpoints'
    /// LayerNorm `gamma`/`beta` names are accepted too. Tensors the model does not use
    /// (`position_ids`, pre-training heads) are ignored. When the model has a head and the file has
    /// none, the head keeps its values: the caller initialises it, as `from_pretrained` does for a
    /// new head. Adapter tensors (LoRA's A and B) are not base weights and are left alone, and so
    /// is a fixed table the file lacks (DistilBERT's sinusoids, computed at construction).
    /// - Returns: the names of model tensors that were not in the file (only ever head tensors).
    ///
    /// `resizingWordEmbeddings`: the file's word-embedding matrix may have another number of rows
    /// than the model's (a resized vocabulary); the rows both have are copied, the others are
    /// left for ``initializeAddedEmbeddingRows(from:)``.
    @discardableResult
    public func load(from file: SafeTensorsFile, resizingWordEmbeddings: Bool = false) throws -> [String] {
        let names = config.family.names
        var notFound: [String] = []
        for view in store.views where !PEFTModules.isAdapterTensor(view.name) {
            guard let stored = Self.storedName(for: view.name, in: file, names: names) else {
                if names.isHeadTensor(view.name) {
                    notFound.append(view.name)
                    continue
                }
                if fixedTensors.contains(view.name) { continue }
                throw ModelError.missingTensor(file: file.path, tensor: view.name)
            }
            let info = file.info(stored)!
            if resizingWordEmbeddings && view.name == names.wordEmbeddings && info.shape.count == 2 && info.shape[1] == view.shape[1] {
                try copyWordEmbeddingRows(stored, rows: info.shape[0], from: file)
                continue
            }
            guard info.shape == view.shape else {
                throw ModelError.shapeMismatch(file: file.path, tensor: stored, expected: view.shape, found: info.shape)
            }
            let destination = UnsafeMutableBufferPointer(start: store.value(view.name), count: view.count)
            if info.dtype == .I8 && stored.hasSuffix(Self.int8Suffix) {
                try loadInt8(stored, shape: view.shape, from: file, into: destination)
            } else {
                try file.copyFloats(stored, into: destination)
            }
        }
        return notFound
    }

    /// De-quantises a quantised model file's `<name>.weight_int8 (out, in)` with its
    /// `<name>.weight_scale (out)` into `destination`: w = scale[o] · q[o][i].
    func loadInt8(_ stored: String, shape: [Int], from file: SafeTensorsFile, into destination: UnsafeMutableBufferPointer<Float>) throws {
        let scaleName = String(stored.dropLast(Self.int8Suffix.count)) + Self.scaleSuffix
        guard shape.count == 2, let scaleInfo = file.info(scaleName) else {
            throw ModelError.missingTensor(file: file.path, tensor: scaleName)
        }
        guard scaleInfo.shape == [shape[0]] else {
            throw ModelError.shapeMismatch(file: file.path, tensor: scaleName, expected: [shape[0]], found: scaleInfo.shape)
        }
        let scales = try file.floats(scaleName)
        let columns = shape[1]
        try file.withRawBytes(stored) { bytes in
            for o in 0..<shape[0] {
                for i in 0..<columns {
                    destination[o * columns + i] = scales[o] * Float(Int8(bitPattern: bytes[o * columns + i]))
                }
            }
        }
    }

    /// The name under which `file` holds store tensor `name`, if it does (a quantised weight:
    /// `<name>_int8`, see `EncoderModel+Int8`).
    static func storedName(for name: String, in file: SafeTensorsFile, names: EncoderTensorNames) -> String? {
        var candidates = [name, names.basePrefix + name]
        if name.hasSuffix(".weight") { candidates += [name + int8Suffix, names.basePrefix + name + int8Suffix] }
        if name.hasSuffix("LayerNorm.weight") {
            let old = String(name.dropLast("weight".count)) + "gamma"
            candidates += [old, names.basePrefix + old]
        } else if name.hasSuffix("LayerNorm.bias") {
            let old = String(name.dropLast("bias".count)) + "beta"
            candidates += [old, names.basePrefix + old]
        }
        return candidates.first { file.info($0) != nil }
    }

    /// Loads `config.json` and `model.safetensors` from a Hugging Face model directory; the family
    /// comes from `config.json` (`ModelRegistry`).
    /// A new head (`numLabels > 0` and no head tensors in the file) is initialised with `seed`;
    /// `head` says whether it classifies sequences or tokens (a token head has no pooler: a
    /// checkpoint's pooler is then ignored, as `BertForTokenClassification.from_pretrained` does).
    /// `adjust` changes the config before the model is built (dropout overrides, as Hugging Face's
    /// `from_pretrained(..., hidden_dropout_prob=...)`); the result is validated. `peft` adds
    /// adapter tensors, left zero (`LoRALayers.initialize` or an adapter file fills them).
    /// `vocabularySize`, when given, resizes the word embeddings as transformers'
    /// `resize_token_embeddings` does (``initializeAddedEmbeddingRows(from:)``).
    ///
    /// The config's sizes are compared with the weights' shapes before anything is allocated, so a
    /// `config.json` that disagrees with its weights is an error naming the key and the tensor.
    public static func load(
        modelDirectory: URL, numLabels: Int = 0, head: EncoderHead = .sequenceClassification, seed: UInt64 = 42,
        peft: PEFTSetup? = nil, vocabularySize: Int? = nil, adjust: (inout EncoderConfig) -> Void = { _ in }
    ) throws -> EncoderModel {
        let configPath = modelDirectory.appendingPathComponent("config.json").path
        let weightsPath = modelDirectory.appendingPathComponent("model.safetensors").path
        var config = try ModelRegistry.encoderFamily(configPath: configPath).config
        guard FileManager.default.fileExists(atPath: weightsPath) else { throw ModelError.missingFile(weightsPath) }
        let file = try SafeTensorsFile(path: weightsPath)
        try checkSizes(of: config, against: file, configPath: configPath)
        adjust(&config)
        let storedRows = config.vocabSize
        if let vocabularySize { config.vocabSize = vocabularySize }
        try config.validate(source: configPath)
        let model = try EncoderModel(config: config, numLabels: numLabels, head: head, peft: peft)
        let newTensors = try model.load(from: file, resizingWordEmbeddings: config.vocabSize != storedRows)
        if config.vocabSize > storedRows { model.initializeAddedEmbeddingRows(from: storedRows) }
        if !newTensors.isEmpty {
            var rng = SeededRNG(seed: seed, stream: RandomStreams.base)
            model.initializeRandomly(rng: &rng, only: Set(newTensors))
        }
        // A quantised directory (`fttrain quantize`) infers in INT8 wherever it is loaded.
        if try quantizationMarker(configPath: configPath) { model.quantizeForInference() }
        return model
    }

    /// Compares every size `config.json` gives with the shape of the tensor it sizes (the layer
    /// count with the layers present), naming the key and the tensor where they disagree.
    static func checkSizes(of config: EncoderConfig, against file: SafeTensorsFile, configPath: String) throws {
        let names = config.family.names
        func shape(_ name: String) throws -> [Int] {
            guard let stored = storedName(for: name, in: file, names: names), let info = file.info(stored) else {
                throw ModelError.missingTensor(file: file.path, tensor: name)
            }
            return info.shape
        }
        func expect(_ key: String, _ value: Int, tensor: String, dimension: Int) throws {
            let found = try shape(tensor)
            guard found.count > dimension, found[dimension] == value else {
                throw ModelError.badConfig(
                    configPath,
                    "\(config.key(key)) \(value) disagrees with \(file.path): "
                        + "\(tensor) has shape \(found)")
            }
        }
        try expect("vocab_size", config.vocabSize, tensor: names.wordEmbeddings, dimension: 0)
        try expect("hidden_size", config.hiddenSize, tensor: names.wordEmbeddings, dimension: 1)
        if config.positionEncoding == .learned || storedName(for: names.positionEmbeddings, in: file, names: names) != nil {
            try expect("max_position_embeddings", config.maxPositionEmbeddings, tensor: names.positionEmbeddings, dimension: 0)
        }
        if let tokenTypes = names.tokenTypeEmbeddings {
            try expect("type_vocab_size", config.typeVocabSize, tensor: tokenTypes, dimension: 0)
        }
        // The layers present: 0 ..< L must be there, L must not.
        let query = names.layerModules[0] + ".weight"
        let layers = config.numHiddenLayers
        guard layers > 0, storedName(for: names.layer(layers - 1) + query, in: file, names: names) != nil,
            storedName(for: names.layer(layers) + query, in: file, names: names) == nil
        else {
            var present = 0
            while present < 100_000 && storedName(for: names.layer(present) + query, in: file, names: names) != nil { present += 1 }
            throw ModelError.badConfig(
                configPath,
                "\(config.key("num_hidden_layers")) \(layers) disagrees with \(file.path), "
                    + "which holds \(present) layer\(present == 1 ? "" : "s") (\(names.layer(0))…)")
        }
        try expect("intermediate_size", config.intermediateSize, tensor: names.layer(0) + names.layerModules[4] + ".weight", dimension: 0)
    }
}
