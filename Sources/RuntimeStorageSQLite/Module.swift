// RuntimeStorageSQLite: see the module's files.
