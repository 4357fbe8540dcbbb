import Glibc

/// Text for an errno value the way Go prints it (`no such file or directory`), so messages
/// match oasis-core's.
func errnoText(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "errno \(code)" }
    let message = String(cString: text)
    guard let first = message.first else { return "errno \(code)" }
    return first.lowercased() + message.dropFirst()
}

/// Closes a descriptor, ignoring the result: used only on descriptors this module opened and
/// owns, where a failed close leaves nothing to recover.
func closeDescriptor(_ fd: Int32) {
    if fd >= 0 { _ = close(fd) }
}
