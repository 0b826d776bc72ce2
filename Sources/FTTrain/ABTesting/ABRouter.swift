import Foundation

/// The A/B side of a server, free of HTTP: the routes, the arm a request goes to, and the log of
/// what each arm predicted and what the clients said was true. `fttrain serve` holds one and calls
/// it from its handlers (`POST /v1/predict` naming a route, `POST /v1/feedback`, `GET /v1/ab`).
public final class ABRouter: Sendable {
    /// Routes by name.
    public let routes: [String: ABRoute]
    /// The log: a file with `--ab-log`, else in memory.
    public let log: ABLog

    /// - Parameters:
    ///   - routes: the A/B routes.
    ///   - servedModels: the names of the served models and adapters: every arm must be one, and
    ///     no route may take a model's name (a request names either).
    ///   - log: where predictions and feedback go.
    /// - Throws: ``ABTestingError/badRoute(_:)`` naming the route and the arm.
    public init(routes: [ABRoute], servedModels: [String], log: ABLog) throws(ABTestingError) {
        let served = Set(servedModels)
        var byName: [String: ABRoute] = [:]
        for route in routes {
            guard !served.contains(route.name) else {
                throw .badRoute("A/B route \(route.name): a served model has the same name; requests could not tell them apart")
            }
            guard byName.updateValue(route, forKey: route.name) == nil else { throw .badRoute("A/B route \(route.name) is defined twice") }
            for arm in route.split.arms where !served.contains(arm.name) {
                throw .badRoute(
                    "A/B route \(route.name): arm \(arm.name) is not a served model (served: \(servedModels.joined(separator: ", ")))")
            }
        }
        self.routes = byName
        self.log = log
    }

    /// The arm of a request on `route`: by the sticky header's value `key` when the request has
    /// one (the same client always gets the same arm), else a fresh random draw by the weights.
    public func arm(route: ABRoute, key: String?) -> String {
        if let key, !key.isEmpty { return route.split.arm(forKey: key) }
        var generator = SystemRandomNumberGenerator()
        return route.split.arm(using: &generator)
    }

    /// The report of the log so far (all routes, or `route`), with a row for every configured arm.
    /// - Throws: ``ABTestingError/badRoute(_:)`` when `route` is not an A/B route (404).
    public func report(route: String? = nil) throws(ABTestingError) -> ABReport {
        if let route, routes[route] == nil {
            throw .badRoute("no A/B route \(route) (routes: \(routes.keys.sorted().joined(separator: ", ")))")
        }
        return ABReport(ledger: log.snapshot, route: route, configuredArms: routes.mapValues { $0.split.arms.map(\.name) })
    }
}
