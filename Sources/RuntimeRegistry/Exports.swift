// `import RuntimeRegistry` gives access to every public module of the package.
@_exported public import OasisCBOR
@_exported public import OasisCommon
@_exported public import ConsensusAPI
