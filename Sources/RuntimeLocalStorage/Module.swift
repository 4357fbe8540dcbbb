// RuntimeLocalStorage: see the module's files.
