// The library's front door: one import gives a program (the CLI, a test) every target of
// the pipeline. ARCHITECTURE.md says which target owns what.
@_exported import S1Common
@_exported import S1Config
@_exported import S1Console
@_exported import S1JSON
@_exported import S1Model
@_exported import S1Pipeline
@_exported import S1Postgres
@_exported import S1Report
@_exported import S1SQLite
@_exported import S1Storage
