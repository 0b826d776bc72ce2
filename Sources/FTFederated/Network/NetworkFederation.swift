import Foundation

extension FederatedConfiguration {
    /// The sites as the coordinator addresses them: the lowest of a site's ranks under MPI; over
    /// the network, where sites have no ranks, their place in `sites:` plus 1 (0 is the coordinator).
    public var siteDescriptors: [SiteDescriptor] {
        sites.enumerated().map {
            SiteDescriptor(name: $0.element.name, rank: $0.element.ranks.min() ?? $0.offset + 1, keyAgreementKey: $0.element.keyAgreementKey)
        }
    }
}
