// RuntimeHistory: see the module's files.
