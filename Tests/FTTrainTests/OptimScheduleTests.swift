@testable import FTTrain
import XCTest

/// Learning rates at boundary steps against numbers printed by transformers 5.24 / torch 2.15.
/// Each pair is (k, the rate optimizer step k uses), read the way the Trainer reads it —
/// `get_last_lr()` before `optimizer.step(); scheduler.step()`:
///
///     import torch
///     from transformers import get_scheduler, TrainingArguments
///     def lrs(name, W, N, steps, base=5e-5):
///         p = torch.nn.Parameter(torch.zeros(1)); opt = torch.optim.AdamW([p], lr=base)
///         s = get_scheduler(name, opt, num_warmup_steps=W, num_training_steps=N)
///         out = []
///         for k in range(max(steps) + 1):
///             if k in steps: out.append((k, s.get_last_lr()[0]))
///             opt.step(); s.step()
///         return out
///     for name in ["constant", "constant_with_warmup", "linear", "cosine"]:
///         print(name, lrs(name, 3, 10, [0, 1, 2, 3, 4, 6, 9, 10, 11, 13]))
///     for name in ["linear", "cosine"]:
///         print(name, lrs(name, 0, 7, [0, 1, 3, 6, 7]), lrs(name, 5, 5, [0, 4, 5, 6]))
///     for N, ws in [(100, 0.1), (1000, 0.06), (7, 0.3), (10, 3.0), (10, 2.7), (33, 0.07), (100, 0.07), (8, 0.0)]:
///         print(N, ws, TrainingArguments(output_dir="/tmp/o", warmup_steps=ws).get_warmup_steps(N))
///
/// Rates are compared with `==`: the Swift code does the same Double operations in the same
/// order and calls the same libm `cos`.
final class OptimScheduleTests: XCTestCase {
    private func assertRates(
        _ type: SchedulerType, warmup: Int, total: Int, _ expected: [(Int, Double)],
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let schedule = LearningRateSchedule(type: type, baseLearningRate: 5e-5, warmupSteps: warmup, trainingSteps: total)
        for (k, rate) in expected {
            XCTAssertEqual(
                schedule.learningRate(atStep: k), rate, "\(type.rawValue) W=\(warmup) N=\(total) k=\(k)",
                file: file, line: line)
        }
    }

    func testConstantIgnoresWarmup() {
        assertRates(
            .constant, warmup: 3, total: 10,
            [
                (0, 5e-05), (1, 5e-05), (2, 5e-05), (3, 5e-05), (4, 5e-05), (6, 5e-05), (9, 5e-05), (10, 5e-05),
                (11, 5e-05), (13, 5e-05),
            ])
    }

    func testConstantWithWarmup() {
        assertRates(
            .constantWithWarmup, warmup: 3, total: 10,
            [
                (0, 0.0), (1, 1.6666666666666667e-05), (2, 3.3333333333333335e-05), (3, 5e-05), (4, 5e-05),
                (6, 5e-05), (9, 5e-05), (10, 5e-05), (11, 5e-05), (13, 5e-05),
            ])
    }

    /// Step 0 runs at rate 0; the peak is first used at k = W; 0 is reached at k = N.
    func testLinear() {
        assertRates(
            .linear, warmup: 3, total: 10,
            [
                (0, 0.0), (1, 1.6666666666666667e-05), (2, 3.3333333333333335e-05), (3, 5e-05),
                (4, 4.2857142857142856e-05), (6, 2.857142857142857e-05), (9, 7.142857142857143e-06), (10, 0.0),
                (11, 0.0), (13, 0.0),
            ])
        assertRates(
            .linear, warmup: 0, total: 7,
            [(0, 5e-05), (1, 4.2857142857142856e-05), (3, 2.857142857142857e-05), (6, 7.142857142857143e-06), (7, 0.0)])
        assertRates(.linear, warmup: 5, total: 5, [(0, 0.0), (4, 4e-05), (5, 0.0), (6, 0.0)])
    }

    /// Like HF, not clamped past N: the cosine rises again at k = 11, 13.
    func testCosine() {
        assertRates(
            .cosine, warmup: 3, total: 10,
            [
                (0, 0.0), (1, 1.6666666666666667e-05), (2, 3.3333333333333335e-05), (3, 5e-05),
                (4, 4.752422169756048e-05), (6, 3.056302334890786e-05), (9, 2.475778302439524e-06), (10, 0.0),
                (11, 2.4757783024395215e-06), (13, 1.9436976651092137e-05),
            ])
        assertRates(
            .cosine, warmup: 0, total: 7,
            [(0, 5e-05), (1, 4.752422169756048e-05), (3, 3.056302334890786e-05), (6, 2.475778302439524e-06), (7, 0.0)])
        assertRates(.cosine, warmup: 5, total: 5, [(0, 0.0), (4, 4e-05), (5, 5e-05), (6, 0.0)])
    }

    /// `TrainingArguments.get_warmup_steps` (5.x: fractional warmup_steps is a ratio), and the
    /// 4.x `warmup_ratio` form. Note 100 · 0.07 = 7.000000000000001 in Double, so HF warms up for 8.
    func testWarmupResolution() {
        let cases: [(Int, Double, Int)] = [
            (100, 0.1, 10), (1000, 0.06, 60), (7, 0.3, 3), (10, 3.0, 3), (10, 2.7, 2),
            (33, 0.07, 3), (100, 0.07, 8), (8, 0.0, 0),
        ]
        for (total, warmup, expected) in cases {
            XCTAssertEqual(
                LearningRateSchedule.resolveWarmupSteps(trainingSteps: total, warmupSteps: warmup), expected,
                "N=\(total) warmup_steps=\(warmup)")
            if warmup < 1 {  // the same number as a 4.x warmup_ratio
                XCTAssertEqual(LearningRateSchedule.resolveWarmupSteps(trainingSteps: total, warmupRatio: warmup), expected)
            }
        }
        // warmup_steps wins over warmup_ratio when > 0 (4.x rule).
        XCTAssertEqual(LearningRateSchedule.resolveWarmupSteps(trainingSteps: 100, warmupSteps: 4, warmupRatio: 0.5), 4)
    }
}
