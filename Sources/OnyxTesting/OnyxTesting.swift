/// OnyxTesting: helpers for testing Onyx models and optimizer passes.
///
/// - ``GraphBuilder`` writes a model in a few lines.
/// - ``assertFolds(_:pass:enable:before:after:tolerance:seed:file:line:)`` and
///   ``assertDoesNotFold(_:pass:reason:seed:file:line:)`` check a pass's
///   rewrites, its guards and that outputs are preserved.
/// - ``OptimizerAssertions`` has the non-asserting pieces (op counts,
///   random feeds, output comparison).
@_exported import Onyx
