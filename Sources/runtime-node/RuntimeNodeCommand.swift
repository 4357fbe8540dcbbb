import ArgumentParser
import RuntimeNode

/// `runtime-node`: runs the node and talks to a running one.
@main
struct RuntimeNodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runtime-node", abstract: "An Oasis-style node hosting ParaTimes on an embedded consensus.")
}
