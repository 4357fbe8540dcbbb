import Metrics
import RuntimeRegistry

/// The swift-metrics instruments of one ``LocalnetExecutor``, all with the dimension
/// `runtime` (the runtime id in hex).
struct ExecutorMetrics: Sendable {
    /// Transactions per committed batch (`runtime_executor_batch_size`).
    let batchSize: Recorder
    /// Transactions committed (`runtime_executor_transactions_committed`).
    let committed: Counter
    /// Transactions rejected by check-tx (`runtime_executor_transactions_rejected`).
    let rejected: Counter
    /// Batches whose transactions were not committed (`runtime_executor_batches_failed`).
    let failedBatches: Counter
    /// Stage durations (`runtime_executor_stage_duration`, dimension `stage`: `check_tx`,
    /// `execute`, `storage_apply`, `history_commit`).
    let checkTx: Metrics.Timer
    let execute: Metrics.Timer
    let storageApply: Metrics.Timer
    let commit: Metrics.Timer

    init(runtimeID: Namespace, factory: any MetricsFactory = MetricsSystem.factory) {
        let runtime = ("runtime", runtimeID.description)
        batchSize = Recorder(label: "runtime_executor_batch_size", dimensions: [runtime], factory: factory)
        committed = Counter(label: "runtime_executor_transactions_committed", dimensions: [runtime], factory: factory)
        rejected = Counter(label: "runtime_executor_transactions_rejected", dimensions: [runtime], factory: factory)
        failedBatches = Counter(label: "runtime_executor_batches_failed", dimensions: [runtime], factory: factory)
        func stage(_ name: String) -> Metrics.Timer {
            Metrics.Timer(label: "runtime_executor_stage_duration", dimensions: [runtime, ("stage", name)], factory: factory)
        }
        checkTx = stage("check_tx")
        execute = stage("execute")
        storageApply = stage("storage_apply")
        commit = stage("history_commit")
    }
}
