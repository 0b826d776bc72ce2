import FTCore
import FTModel
import Foundation

extension TrainingRun {
    /// `task: question_answering`: SQuAD data windowed as run_qa does, an encoder with a
    /// `qa_outputs` head (new, seeded from `seed`, unless the directory is already a QA model).
    func prepareQuestionAnswering(baseModel: URL, trainPath: String, output: URL, log: TrainingLog) throws -> PreparedTask {
        let c = configuration
        let tokenizer = try EncoderTokenizers.load(modelDirectory: baseModel)  // tokenizer.json or vocab.txt
        var options = QuestionAnsweringTask.Options()
        options.maxLength = c.maxLength
        options.docStride = c.docStride
        options.decoding = AnswerDecoding(
            nBestSize: c.nBestSize, maxAnswerLength: c.maxAnswerLength, versionTwoWithNegative: c.versionTwoWithNegative,
            nullScoreDifferenceThreshold: Float(c.nullScoreDiffThreshold))
        options.splitRatios = c.splitRatios
        options.validationPath = c.validationFile
        options.testPath = c.testFile
        options.seed = c.rngSeed
        // Data first, so a bad file fails before the model loads.
        let task = try QuestionAnsweringTask(trainPath: trainPath, options: options, tokenizer: tokenizer)
        task.logLines.forEach(log.message)
        if world.isCoordinator { try task.writeSplits(to: output.appendingPathComponent("data")) }
        let model = try ModelRegistry.load(
            modelDirectory: baseModel, numLabels: 2, head: .questionAnswering, seed: c.rngSeed, peft: c.peftSetup, overrides: c.modelOverrides)
        try startModel(
            model, for: .questionAnswering, tokenizerSize: tokenizer.vocabularySize, vocabulary: .vocabText(baseModel),
            maxLength: .required, ignoring: ["class_weights", "oversample"], log: log)
        return PreparedTask(
            task: task, model: model, padTokenId: tokenizer.padTokenId, firstTokenOnly: false,
            // BertForQuestionAnswering's loss is a micro-batch mean over sequences.
            accumulationScaling: .meanOfMicroBatchMeans, baseModelDirectory: baseModel)
    }
}
