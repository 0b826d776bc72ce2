import FTModel

extension CausalLanguageModelingTask.Options {
    /// The causal-LM task's settings from a run's configuration (data templates, losses on the
    /// answer only, packing, generation, splits), `max_length` capped at what the model can take:
    /// what `fttrain train` and a federated causal-LM site or coordinator read their data with.
    public init(configuration c: TrainingConfiguration, maxSequenceLength: Int) {
        self.init()
        data.completionOnlyLoss = c.completionOnlyLoss
        data.assistantOnlyLoss = c.assistantOnlyLoss
        data.promptTemplate = c.promptTemplate
        data.completionTemplate = c.completionTemplate
        data.chatTemplate = c.chatTemplate
        data.read = c.readOptions
        maxLength = min(c.maxLength, maxSequenceLength)
        packing = c.packing
        predictWithGenerate = c.predictWithGenerate
        generationMaxNewTokens = c.generationMaxNewTokens
        splitRatios = c.splitRatios
        validationPath = c.validationFile
        testPath = c.testFile
        seed = c.rngSeed
        deduplicate = c.deduplicate
    }
}
