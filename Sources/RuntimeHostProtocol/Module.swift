// RuntimeHostProtocol: see the module's files.
