/// The reference key-value runtime (filled in by the RHP work).
@main
struct KVRuntimeMain {
    static func main() {}
}
