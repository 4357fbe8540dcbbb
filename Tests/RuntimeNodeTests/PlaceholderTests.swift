import RuntimeNode
import Testing

@Test("the node names itself")
func nodeName() {
    #expect(RuntimeNodeInfo.name == "runtime-node")
}
