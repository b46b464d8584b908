/// Settings for one `s1ingest import`.
public struct ImportOptions: Sendable {
    /// The SQLite file, created and migrated when needed.
    public var databasePath: String
    /// Files to read; `-` is standard input.
    public var inputs: [String]
    /// Analyses per committed transaction.
    public var batchSize: Int
    /// Larger documents are reported and skipped.
    public var maxDocumentBytes: Int

    public init(databasePath: String, inputs: [String], batchSize: Int = 1000,
                maxDocumentBytes: Int = DocumentReader.defaultMaxDocumentBytes) {
        self.databasePath = databasePath
        self.inputs = inputs
        self.batchSize = batchSize
        self.maxDocumentBytes = maxDocumentBytes
    }
}

/// A snapshot for progress displays.
public struct ImportProgress: Sendable {
    public let documentsRead: Int
    public let analysesFound: Int
    public let stored: Int
    public let problems: Int
    public let bytesRead: Int
    public let elapsedSeconds: Double
    /// The input being read.
    public let currentInput: String
}

/// Reads analyses already on disk into the database: input -> decode -> flatten -> store.
public final class Importer {
    public let options: ImportOptions
    /// Called about twice a second while importing.
    public var onProgress: ((ImportProgress) -> Void)?
    /// Called for every problem as it is found.
    public var onProblem: ((ImportProblem) -> Void)?

    public init(options: ImportOptions) {
        self.options = options
    }

    /// Runs the import. Throws only for failures of the database itself (it cannot be
    /// opened, migrated or written); bad inputs are counted in the summary and skipped.
    public func run() throws -> ImportSummary {
        let clock = ContinuousClock()
        let started = clock.now
        var summary = ImportSummary()
        let database = try StoreOpener.openForWriting(path: options.databasePath)
        let store = try AnalysisStore(database: database)
        var inBatch = 0
        var lastProgress = started
        let ingestedAt = currentTimestamp()

        func problem(_ location: String, _ reason: String) {
            let problem = ImportProblem(location: location, reason: reason)
            summary.record(problem)
            onProblem?(problem)
        }

        try store.beginBatch()
        do {
            for input in options.inputs {
                let reader: DocumentReader
                do {
                    reader = try DocumentReader(path: input, maxDocumentBytes: options.maxDocumentBytes)
                } catch {
                    problem(input == "-" ? "stdin" : input, "\(error)")
                    continue
                }
                do {
                    while let item = try reader.next() {
                        summary.documentsRead += 1
                        switch item {
                        case .problem(let location, let reason):
                            problem(location.description, reason)
                        case .document(let bytes, let location):
                            summary.bytesRead += bytes.count
                            for result in AnalysisDecoder.decode(bytes: bytes, location: location) {
                                switch result {
                                case .failure(let decodeProblem):
                                    problem(decodeProblem.location.description, decodeProblem.reason)
                                case .success(let analysis):
                                    summary.analysesFound += 1
                                    let flat = AnalysisFlattener.flatten(analysis, ingestedAt: ingestedAt)
                                    do {
                                        let outcome = try store.store(flat, ingestedAt: ingestedAt)
                                        summary.outcomes[outcome, default: 0] += 1
                                    } catch let error as SQLiteError where !Self.isFatal(error) {
                                        problem(location.description, "threat \(analysis.threatId) not stored: \(error.message)")
                                    }
                                    inBatch += 1
                                    if inBatch >= options.batchSize {
                                        try store.commitBatch()
                                        try store.beginBatch()
                                        inBatch = 0
                                    }
                                }
                            }
                        }
                        let now = clock.now
                        if let onProgress, now - lastProgress > .milliseconds(500) {
                            lastProgress = now
                            onProgress(ImportProgress(
                                documentsRead: summary.documentsRead, analysesFound: summary.analysesFound,
                                stored: summary.stored, problems: summary.problemCount, bytesRead: summary.bytesRead,
                                elapsedSeconds: (now - started).seconds, currentInput: reader.sourceName))
                        }
                    }
                } catch let error as InputError {
                    problem(input == "-" ? "stdin" : input, "\(error)")
                }
            }
            try store.commitBatch()
        } catch {
            store.rollbackBatch()
            throw error
        }
        summary.rowCounts = try store.rowCounts()
        summary.elapsedSeconds = (clock.now - started).seconds
        return summary
    }

    /// Errors after which the database cannot take more writes (disk full, I/O, corruption).
    static func isFatal(_ error: SQLiteError) -> Bool {
        let primary = error.code & 0xff
        return primary == SQLITE_FULL || primary == SQLITE_IOERR || primary == SQLITE_CORRUPT
            || primary == SQLITE_NOTADB || primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN
            || primary == SQLITE_BUSY || primary == SQLITE_LOCKED
    }
}

extension Duration {
    /// The duration in seconds.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

import CSQLite
