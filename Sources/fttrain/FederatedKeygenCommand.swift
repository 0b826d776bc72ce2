import ArgumentParser
import FTFederated

/// `fttrain federated-keygen`: a site's key pair for federated runs.
struct FederatedKeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "federated-keygen",
        abstract: "Create a site's signing and key-agreement keys for a federation.",
        discussion: """
            Writes the private keys to --key-file (mode 0600; keep it at the site, never overwritten) and \
            prints the public keys as the lines to paste into the site's entry of the federation config.
            """)

    @Option(help: "The site's name, as in the federation config.")
    var site: String

    @Option(help: "Where the private keys go (must not exist).")
    var keyFile: String

    func run() throws {
        let keys = SiteKeys(site: site)
        try keys.write(to: keyFile)
        print("    public_key: \(keys.publicKey)")
        print("    key_agreement_key: \(keys.keyAgreementKey)")
        print("    private_key_file: \(keyFile)")
    }
}
