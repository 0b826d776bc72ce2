import ArgumentParser
import FTServe
import Foundation

/// `fttrain serve`: an HTTP server answering predict/embed/tokenize (and generate/chat for causal
/// LMs) for several models and adapters,
/// with dynamic batching, limits and Prometheus metrics (docs/serve.md).
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract:
            "Serve classifiers, token classifiers, embedders and causal LMs over HTTP (predict, embed, tokenize, generate, chat completions, health, info, metrics).",
        discussion: """
            When ready it prints one line to standard output: `fttrain serve: listening on http://HOST:PORT`. \
            SIGTERM or SIGINT: stop accepting, finish the requests in flight, exit 0. \
            Settings given on the command line override those of --config.
            """)

    @Option(
        name: .customLong("model"),
        help: ArgumentHelp("A model directory (or a decoder's .gguf file) served under a name; repeat for several.", valueName: "name=dir"))
    var models: [String] = []

    @Option(
        name: .customLong("adapter"),
        help: ArgumentHelp("An adapter directory over the served model BASE; repeat for several.", valueName: "name=base:dir"))
    var adapters: [String] = []

    @Option(help: "A YAML file of settings (models, adapters, routes, max_batch_tokens, ...).")
    var config: String?

    @Option(help: "Address to listen on (default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on; 0: any free port (default 8080).")
    var port: Int?

    @Option(
        help: "Threads fttrain computes on, each running single-threaded OpenBLAS (default: FTTRAIN_THREADS, OPENBLAS_NUM_THREADS, else all cores).")
    var threads: Int?

    @Option(name: .customLong("max-batch-tokens"), help: "Most tokens in one batch (default 16384).")
    var maxBatchTokens: Int?

    @Option(name: .customLong("max-batch-requests"), help: "Most texts in one batch (default 64).")
    var maxBatchRequests: Int?

    @Option(name: .customLong("max-wait-ms"), help: "How long a batch may wait for more requests (default 0: none).")
    var maxWaitMilliseconds: Int?

    @Option(name: .customLong("max-concurrent-requests"), help: "Requests in flight beyond which the answer is 429 (default 512).")
    var maxConcurrentRequests: Int?

    @Option(name: .customLong("max-body-bytes"), help: "Largest request body; larger ones get 413 (default 2097152).")
    var maxBodyBytes: Int?

    @Option(name: .customLong("max-inputs"), help: "Most texts in one request (default 64).")
    var maxInputs: Int?

    @Option(name: .customLong("max-length"), help: "Tokens per text incl. [CLS]/[SEP] (default: each model's maximum).")
    var maxLength: Int?

    @Option(name: .customLong("ab-log"), help: "Append A/B predictions and feedback to this JSON Lines file (fttrain ab-report reads it).")
    var abLog: String?

    @Flag(inversion: .prefixedNo, help: "Truncate over-long texts (default), or refuse them with 400 (--no-truncate).")
    var truncate: Bool?

    func run() throws {
        var settings = ServeConfiguration()
        do {
            if let config { try settings.load(yamlFile: config) }
            settings.models += try models.map(ServeConfiguration.parseModel)
            settings.adapters += try adapters.map(ServeConfiguration.parseAdapter)
        } catch let error as ServeSetupError {
            throw CLIError(error.description)
        }
        if let host { settings.host = host }
        if let port { settings.port = port }
        if let threads { settings.threads = threads }
        if let maxBatchTokens { settings.maxBatchTokens = maxBatchTokens }
        if let maxBatchRequests { settings.maxBatchRequests = maxBatchRequests }
        if let maxWaitMilliseconds { settings.maxWaitMilliseconds = maxWaitMilliseconds }
        if let maxConcurrentRequests { settings.maxConcurrentRequests = maxConcurrentRequests }
        if let maxBodyBytes { settings.maxBodyBytes = maxBodyBytes }
        if let maxInputs { settings.maxInputs = maxInputs }
        if let maxLength { settings.maxLength = maxLength }
        if let truncate { settings.truncate = truncate }
        if let abLog { settings.abLog = abLog }
        let server: ServeServer
        do {
            server = try ServeServer(configuration: settings)
        } catch let error as ServeSetupError {
            throw CLIError(error.description)
        }
        let finished = DispatchSemaphore(value: 0)
        let failure = ErrorBox()
        Task {
            do {
                try await server.run { host, port in
                    // Unbuffered: scripts and tests wait for this line on a pipe.
                    FileHandle.standardOutput.write(Data("fttrain serve: listening on http://\(host):\(port)\n".utf8))
                }
            } catch {
                failure.error = error
            }
            finished.signal()
        }
        finished.wait()
        if let error = failure.error { throw CLIError("serve: \(error)") }
    }
}

/// The error the server task ended with, handed to the blocked main thread.
private final class ErrorBox: @unchecked Sendable {
    var error: (any Error)?
}
