/// FTTrain: everything a fine-tuning run needs around the model — data loading and splits,
/// the optimizer and schedules, metrics, and the run's configuration.
public enum FTTrainModule {}
