// RuntimeTagIndexer: see the module's files.
