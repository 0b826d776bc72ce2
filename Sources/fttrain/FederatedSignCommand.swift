import ArgumentParser
import FTFederated
import Foundation

/// `fttrain federated-sign`: the CA holder issues a site's TLS certificate from the certificate
/// request the site made itself (`fttrain federated-keygen --site NAME --request-dir DIR`, or
/// `openssl req -new` with a P-256 key and CN=NAME), so the site's private key never leaves it.
struct FederatedSignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "federated-sign",
        abstract: "Issue a site's TLS certificate from its certificate request, with the federation's CA.",
        discussion: """
            Checks the request (PEM PKCS#10; its signature verifies with its own key; an ECDSA P-256 key; subject CN \
            the site's name, any requested subject alternative name DNS:NAME only) and signs a client certificate \
            with TLS_DIR/ca.pem + ca.key in the profile `federated-keygen --tls-dir` uses (clientAuth, CN=NAME, \
            DNS:NAME). It is written to TLS_DIR/NAME.pem (the CA holder's record; a site that already has one is \
            refused unless --force) and to --output if that is another file. The coordinator admits a connection only \
            as the site its certificate names. Like `openssl x509 -req -CA ca.pem -CAkey ca.key -in NAME.csr`.

              fttrain federated-sign --tls-dir tls --csr hospital-c.csr --output hospital-c.pem
            """)

    @Option(help: "The directory with the federation's CA (ca.pem + ca.key, from federated-keygen --tls-dir).")
    var tlsDir: String

    @Option(help: "The site's certificate request (PEM), from federated-keygen --request-dir or openssl req -new.")
    var csr: String

    @Option(help: "Also write the certificate here (default: only TLS_DIR/NAME.pem).")
    var output: String?

    @Option(help: "How many days the certificate is valid (never past the CA's end).")
    var days = 825

    @Flag(help: "Issue a new certificate for a site that already has one (replaces TLS_DIR/NAME.pem and --output).")
    var force = false

    func run() throws {
        let issued = try FederationTLS.sign(request: csr, caDirectory: tlsDir, output: output, days: days, force: force)
        let until = ISO8601DateFormatter().string(from: issued.notValidAfter)
        for file in issued.files { print("# wrote \(file)") }
        print("# the certificate of site \(issued.site), valid until \(until): send it and ca.pem to the site")
    }
}
