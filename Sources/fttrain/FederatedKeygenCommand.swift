import ArgumentParser
import FTFederated
import Foundation

/// `fttrain federated-keygen`: a site's key pair for federated runs, the TLS material of a
/// federation over the network (its CA, and certificates it signs for the coordinator and the
/// sites), and a site's own TLS key and certificate request for the CA holder to sign
/// (`fttrain federated-sign`).
struct FederatedKeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "federated-keygen",
        abstract: "Create a site's signing and key-agreement keys, and the TLS material of a federation over the network.",
        discussion: """
            With --key-file: writes the site's private keys there (mode 0600; keep it at the site, never overwritten) \
            and prints the public keys as the lines to paste into the site's entry of the federation config.

            With --tls-dir DIR: writes what `fttrain federated serve|join` need for mutual TLS — DIR/ca.pem and \
            DIR/ca.key (the federation's CA; made if DIR has none, else reused to sign: keep ca.key offline), \
            DIR/coordinator.pem + .key when --coordinator-host is given (the hosts and IP addresses sites dial, \
            as subject alternative names), and DIR/NAME.pem + .key for each --site. Keys are P-256, mode 0600. \
            Give everyone ca.pem and each party its own pair: network: {tls: {ca: ca.pem, cert: NAME.pem, key: NAME.key}}. \
            Existing files of a named party are refused unless --force.

            With --request-dir DIR (at the site, so its TLS key never leaves it): writes DIR/NAME.key (the site's \
            P-256 key, mode 0600) and DIR/NAME.csr (a PKCS#10 request, subject CN=NAME, SAN DNS:NAME). Send the .csr \
            to the CA holder, who runs `fttrain federated-sign --tls-dir tls --csr NAME.csr` and sends back NAME.pem.

              fttrain federated-keygen --site hospital-a --key-file hospital-a.keys
              fttrain federated-keygen --tls-dir tls --coordinator-host fed.example.org --coordinator-host 10.0.0.1 \\
                  --site hospital-a --site hospital-b
              fttrain federated-keygen --site hospital-c --request-dir tls    # at hospital-c: tls/hospital-c.key + .csr
            """)

    @Option(help: "A site's name, as in the federation config (repeat it with --tls-dir for several sites).")
    var site: [String] = []

    @Option(help: "Where the site's private signing keys go (must not exist; needs exactly one --site).")
    var keyFile: String?

    @Option(help: "Write the federation's TLS material (CA, coordinator and site certificates) into this directory.")
    var tlsDir: String?

    @Option(help: "Write this site's TLS key (NAME.key) and certificate request (NAME.csr) into this directory (needs exactly one --site).")
    var requestDir: String?

    @Option(help: "A host name or IP address the sites use to reach the coordinator (repeatable; with --tls-dir).")
    var coordinatorHost: [String] = []

    @Option(help: "How many days the certificates are valid.")
    var days = 825

    @Flag(help: "Replace the named parties' existing TLS keys and certificates (the CA in --tls-dir is kept), or the site's request files.")
    var force = false

    func validate() throws {
        guard keyFile != nil || tlsDir != nil || requestDir != nil else {
            throw ValidationError(
                "give --key-file (a site's signing keys), --tls-dir (the federation's TLS material) or --request-dir (a site's TLS key and certificate request)"
            )
        }
        if keyFile != nil && site.count != 1 {
            throw ValidationError("--key-file holds one site's keys: give exactly one --site (found \(site.count))")
        }
        if let requestDir {
            guard tlsDir == nil else {
                throw ValidationError("--request-dir is for a site making its own key, --tls-dir for the CA holder: give one of them")
            }
            guard site.count == 1 else {
                throw ValidationError("--request-dir holds one site's request: give exactly one --site (found \(site.count))")
            }
            let tlsKey = FederationTLS.requestFiles(in: requestDir, for: site[0]).key
            if let keyFile, URL(fileURLWithPath: keyFile).standardizedFileURL == URL(fileURLWithPath: tlsKey).standardizedFileURL {
                throw ValidationError("--key-file \(keyFile) is where --request-dir puts the TLS key: give the signing keys another file")
            }
        }
        if tlsDir == nil && !coordinatorHost.isEmpty {
            throw ValidationError("--coordinator-host is for --tls-dir")
        }
        if force && tlsDir == nil && requestDir == nil {
            throw ValidationError("--force is for --tls-dir and --request-dir (--key-file is never overwritten)")
        }
    }

    func run() throws {
        if let keyFile, let name = site.first {
            let keys = SiteKeys(site: name)
            try keys.write(to: keyFile)
            print("    public_key: \(keys.publicKey)")
            print("    key_agreement_key: \(keys.keyAgreementKey)")
            print("    private_key_file: \(keyFile)")
        }
        if let requestDir, let name = site.first {
            let request = try FederationTLS.writeRequest(site: name, to: requestDir, force: force)
            print("# wrote \(request.key) (keep it here) and \(request.csr): send the .csr to the CA holder, who runs")
            print("#   fttrain federated-sign --tls-dir TLS_DIR --csr \(URL(fileURLWithPath: request.csr).lastPathComponent)")
            print("# and sends back \(name).pem; then network: {tls: {ca: ca.pem, cert: \(name).pem, key: \(request.key)}}")
        }
        if let tlsDir {
            let written = try FederationTLS.write(to: tlsDir, sites: site, coordinatorHosts: coordinatorHost, days: days, force: force)
            let ca = FederationTLS.files(in: tlsDir, for: FederationTLS.caName).ca
            print(written.createdCA ? "# a new federation CA: \(ca) (keep its .key offline)" : "# signed by the CA of \(ca)")
            for file in written.files { print("# wrote \(file)") }
        }
    }
}
