import Foundation

extension TrainingConfiguration {
    /// Throws a `ConfigurationError` listing every impossible value or contradictory combination,
    /// each message naming the key and the value. Call it after `applyOverrides(_:)`: `output_dir`,
    /// `model_dir` and `train_file` may come from flags.
    ///
    /// - Parameter maxPositionEmbeddings: the model's `max_position_embeddings`, the upper bound of
    ///   `max_length` (512, BERT's, when the model is not known yet).
    public func validate(maxPositionEmbeddings: Int = 512) throws {
        let problems = validationProblems(maxPositionEmbeddings: maxPositionEmbeddings)
        if !problems.isEmpty { throw ConfigurationError(source: nil, problems: problems) }
    }

    /// Every problem `validate(maxPositionEmbeddings:)` would report, in key order; empty when valid.
    public func validationProblems(maxPositionEmbeddings: Int = 512) -> [ConfigurationProblem] {
        var problems: [ConfigurationProblem] = []
        func invalid(_ key: String, _ message: String) {
            problems.append(ConfigurationProblem(kind: .invalidValue, key: key, message: message))
        }
        /// `key` must satisfy `requirement`; the value is shown as the log shows it.
        func require(_ condition: Bool, _ key: String, _ requirement: String) {
            guard !condition else { return }
            let shown = ConfigurationKey.named(key).map { $0.display(self) } ?? "?"
            invalid(key, "`\(key)` must be \(requirement), found \(shown)")
        }
        func required(_ value: String?, _ key: String) {
            guard value?.isEmpty ?? true, let setting = ConfigurationKey.named(key) else { return }
            problems.append(
                ConfigurationProblem(
                    kind: .missingSetting, key: key,
                    message: "`\(key)` is required: set it in the configuration file or pass `\(setting.flag)`"))
        }
        // Comparisons are written so that NaN fails them.

        // Run
        required(outputDir, "output_dir")
        required(modelDir, "model_dir")
        if maxSteps <= 0 {
            require(
                numTrainEpochs > 0 && numTrainEpochs.isFinite, "num_train_epochs",
                "> 0 when `max_steps` is not set (\(maxSteps) <= 0)")
        }
        require(perDeviceTrainBatchSize >= 1, "per_device_train_batch_size", ">= 1")
        require(ddpTimeout >= 1, "ddp_timeout", ">= 1 (seconds)")
        if ddpBF16Compression && ddpAllreduceAlgorithm != .auto && ddpAllreduceAlgorithm != .ring {
            invalid(
                "ddp_allreduce_algorithm",
                "`ddp_allreduce_algorithm` \(ddpAllreduceAlgorithm.rawValue) cannot send bfloat16: with `ddp_bf16_compression` use auto or ring")
        }
        require(ddpBucketCapMB > 0 && ddpBucketCapMB.isFinite, "ddp_bucket_cap_mb", "> 0")
        require(ddpParameterCheckSteps >= 0, "ddp_parameter_check_steps", ">= 0 (0 turns the check off)")
        require(perDeviceEvalBatchSize >= 1, "per_device_eval_batch_size", ">= 1")
        require(gradientAccumulationSteps >= 1, "gradient_accumulation_steps", ">= 1")
        require(learningRate > 0 && learningRate.isFinite, "learning_rate", "> 0")
        require(weightDecay >= 0 && weightDecay.isFinite, "weight_decay", ">= 0")
        require(adamBeta1 >= 0 && adamBeta1 < 1, "adam_beta1", "in [0, 1)")
        require(adamBeta2 >= 0 && adamBeta2 < 1, "adam_beta2", "in [0, 1)")
        require(adamEpsilon >= 0 && adamEpsilon.isFinite, "adam_epsilon", ">= 0")
        require(maxGradNorm >= 0, "max_grad_norm", ">= 0 (0 turns clipping off)")
        require(warmupRatio >= 0 && warmupRatio < 1, "warmup_ratio", "in [0, 1)")
        require(warmupSteps >= 0, "warmup_steps", ">= 0")
        if lrSchedulerType == .constant && (warmupSteps > 0 || warmupRatio > 0) {
            let warmup = warmupSteps > 0 ? "warmup_steps" : "warmup_ratio"
            invalid(
                warmup,
                "`\(warmup)` \(ConfigurationKey.named(warmup)!.display(self)) has no effect with `lr_scheduler_type` constant; use constant_with_warmup, or set it to 0"
            )
        }
        if let evalSteps { require(evalSteps >= 0, "eval_steps", ">= 0 (or null to follow logging_steps)") }
        require(loggingSteps >= 0, "logging_steps", ">= 0 (0 turns step logging off)")
        if evalStrategy == .steps && resolvedEvalSteps <= 0 {
            invalid(
                "eval_strategy",
                "`eval_strategy` steps needs a positive `eval_steps` or `logging_steps`, found eval_steps \(evalSteps.displayText) and logging_steps \(loggingSteps)"
            )
        }
        if saveStrategy == .steps { require(saveSteps >= 1, "save_steps", ">= 1 with `save_strategy` steps") }
        if let saveTotalLimit { require(saveTotalLimit >= 1, "save_total_limit", ">= 1 (or null to keep every checkpoint)") }
        if saveStrategy == .best && evalStrategy == .no {
            invalid("save_strategy", "`save_strategy` best needs evaluations to pick the best, but `eval_strategy` is no")
        }
        if loadBestModelAtEnd {
            if evalStrategy == .no {
                invalid("load_best_model_at_end", "`load_best_model_at_end` needs evaluations, but `eval_strategy` is no; set it to steps or epoch")
            } else if saveStrategy != .best && saveStrategy.rawValue != evalStrategy.rawValue {
                invalid(
                    "load_best_model_at_end",
                    "`load_best_model_at_end` requires `save_strategy` (\(saveStrategy.rawValue)) to match `eval_strategy` (\(evalStrategy.rawValue)), as in Hugging Face (or save_strategy best)"
                )
            } else if saveStrategy == .steps && resolvedEvalSteps > 0 && saveSteps % resolvedEvalSteps != 0 {
                invalid(
                    "save_steps",
                    "`load_best_model_at_end` requires `save_steps` (\(saveSteps)) to be a multiple of the evaluation steps (\(resolvedEvalSteps)), so every checkpoint has an evaluation"
                )
            }
        }
        if let resumeFromCheckpoint { require(!resumeFromCheckpoint.isEmpty, "resume_from_checkpoint", "latest or a checkpoint directory") }
        if let earlyStoppingPatience {
            require(earlyStoppingPatience >= 1, "early_stopping_patience", ">= 1 (or null to never stop early)")
            if evalStrategy == .no {
                invalid("early_stopping_patience", "`early_stopping_patience` needs evaluations, but `eval_strategy` is no; set it to steps or epoch")
            }
        }
        require(earlyStoppingThreshold >= 0 && earlyStoppingThreshold.isFinite, "early_stopping_threshold", ">= 0")
        if let metricForBestModel { require(!metricForBestModel.isEmpty, "metric_for_best_model", "a metric name (or null for loss)") }
        require(
            maxLength >= 2 && maxLength <= maxPositionEmbeddings, "max_length",
            "in [2, \(maxPositionEmbeddings)] (room for [CLS] and [SEP], at most the model's max_position_embeddings)")

        // Data
        required(trainFile, "train_file")
        let ratiosAreValid =
            splitRatios.count == 3 && splitRatios.allSatisfy { $0 >= 0 && $0.isFinite }
            && abs(splitRatios.reduce(0, +) - 1) <= 1e-6 && splitRatios[0] > 0
        require(
            ratiosAreValid, "split_ratios",
            "three fractions (train, validation, test), each >= 0, train > 0, summing to 1")
        if ratiosAreValid && splitsTrainFile && splitRatios[1] == 0 && evalStrategy != .no {
            invalid(
                "split_ratios",
                "`eval_strategy` \(evalStrategy.rawValue) needs validation examples, but `split_ratios` \(splitRatios.displayText) gives the validation split none"
            )
        }
        if validationFile == nil && testFile != nil && evalStrategy != .no {
            invalid(
                "validation_file", "`eval_strategy` \(evalStrategy.rawValue) needs `validation_file`: with `test_file` set, train_file is not split")
        }
        require(!textColumn.isEmpty, "text_column", "a column name")
        if let promptTemplate { require(!promptTemplate.isEmpty, "prompt_template", "a template text (or null)") }
        if chatTemplate && promptTemplate == nil {
            invalid("chat_template", "`chat_template` wraps templated prompts: set `prompt_template` too")
        }
        if task == .questionAnswering {
            require(docStride >= 0, "doc_stride", ">= 0")
            require(nBestSize >= 1, "n_best_size", ">= 1")
            require(maxAnswerLength >= 1, "max_answer_length", ">= 1")
        }
        if task == .sequenceClassification || task == .tokenClassification || task == .questionAnswering {
            for (key, set) in [
                ("prompt_template", promptTemplate != nil), ("packing", packing), ("predict_with_generate", predictWithGenerate),
            ] where set {
                invalid(key, "`\(key)` is a causal_lm setting; `task` is \(task!.rawValue)")
            }
        }
        require(generationMaxNewTokens >= 1, "generation_max_new_tokens", ">= 1")
        require(!labelColumn.isEmpty, "label_column", "a column name")
        if !textColumn.isEmpty && textColumn == labelColumn {
            invalid("label_column", "`label_column` and `text_column` are both `\(textColumn)`; they must differ")
        }
        if let textPairColumn, textPairColumn == textColumn || textPairColumn == labelColumn || textPairColumn.isEmpty {
            invalid("text_pair_column", "`text_pair_column` must be a column other than text_column and label_column, found `\(textPairColumn)`")
        }
        if dataFormat == nil {
            for (key, file) in [("train_file", trainFile), ("validation_file", validationFile), ("test_file", testFile)] {
                guard let file, !file.isEmpty, DataFormat.inferred(fromPath: file) == nil else { continue }
                invalid(
                    "data_format",
                    "cannot tell the format of `\(key)` \(file) from its extension; name it .csv, .tsv or .jsonl, or set `data_format` to one of csv, tsv, jsonl"
                )
            }
        }
        if let thresholds {
            require(thresholds.values.allSatisfy { $0 > 0 && $0 < 1 }, "thresholds", "in (0, 1) (each label's threshold)")
            if case .uniform = thresholds, threshold != 0.5 {
                invalid("thresholds", "set `threshold` or a number in `thresholds`, not both")
            }
        }
        if let labelColumns {
            let names = labelColumns.names
            require(!names.isEmpty && Set(names).count == names.count, "label_columns", "distinct column names")
            if let clash = names.first(where: { $0 == textColumn || $0 == textPairColumn }) {
                invalid("label_columns", "`label_columns` names the text column `\(clash)`")
            }
        }
        if tuneThresholds, let problemType, problemType != .multiLabelClassification {
            invalid("tune_thresholds", "`tune_thresholds` picks multi-label thresholds; problem_type is \(problemType.rawValue)")
        }
        if let classWeights {
            let weights: [Double]
            switch classWeights {
            case .balanced: weights = [1]
            case .list(let values): weights = values
            case .byLabel(let map): weights = Array(map.values)
            }
            require(!weights.isEmpty && weights.allSatisfy { $0 > 0 && $0.isFinite }, "class_weights", "weights > 0")
        }

        if let augment {
            for message in augment.problems { invalid("augment", message) }
        }

        // Model
        for (key, probability) in [
            ("hidden_dropout_prob", hiddenDropoutProb),
            ("attention_probs_dropout_prob", attentionProbsDropoutProb),
            ("classifier_dropout", classifierDropout),
        ] {
            if let probability { require(probability >= 0 && probability < 1, key, "a probability in [0, 1)") }
        }

        // PEFT and freezing
        problems += peftProblems()
        return problems
    }
}
