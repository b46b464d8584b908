import S1Storage
import S1Common
import S1JSON
import S1Model
import S1Console
/// Settings for one `s1ingest import`.
public struct ImportOptions: Sendable {
    /// The SQLite file, created and migrated when needed.
    public var databasePath: String
    /// Files to read; `-` is standard input.
    public var inputs: [String]
    /// Most analyses per committed transaction.
    public var batchSize: Int
    /// Longest time between commits, so a long import's progress is durable.
    public var commitInterval: Duration
    /// Larger documents are reported and skipped.
    public var maxDocumentBytes: Int
    /// The console the files came from (`import --console NAME`); nil: `default`.
    public var console: String? = nil

    public init(databasePath: String, inputs: [String], batchSize: Int = 4000, commitInterval: Duration = .seconds(2),
                maxDocumentBytes: Int = DocumentReader.defaultMaxDocumentBytes) {
        self.databasePath = databasePath
        self.inputs = inputs
        self.batchSize = batchSize
        self.commitInterval = commitInterval
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
}

/// Reads analyses already on disk into the database: input -> decode -> flatten -> store.
///
/// Two stages run at once: one task reads, parses and flattens; the caller's task is the
/// one database writer. A bounded channel between them keeps memory flat.
public final class Importer {
    public let options: ImportOptions
    /// Where the analyses go (`options.databasePath` opened by a backend).
    public let provider: any StoreProvider
    /// Called about twice a second while importing.
    public var onProgress: ((ImportProgress) -> Void)?
    /// Called for every problem as it is found.
    public var onProblem: ((ImportProblem) -> Void)?

    public init(options: ImportOptions, store provider: any StoreProvider) {
        self.options = options
        self.provider = provider
    }

    /// What the reading stage hands to the writer.
    package enum Event: Sendable {
        case document(bytes: Int)
        case analysis(FlattenedAnalysis)
        case problem(ImportProblem)
    }

    /// Runs the import. Throws only for failures of the database itself (it cannot be
    /// opened, migrated or written); bad inputs are counted in the summary and skipped.
    nonisolated(nonsending) public func run() async throws -> ImportSummary {
        LargeAllocations.returnToSystemWhenFreed()
        let clock = ContinuousClock()
        let started = clock.now
        let store = try provider.openForWriting()
        let console = try store.registerConsole(name: options.console, url: nil).name
        let ingestedAt = currentTimestamp()
        let channel = BoundedChannel<[Event]>(capacity: 8)
        let options = self.options
        async let reading: Void = Self.read(options, ingestedAt: ingestedAt, into: channel)

        var summary = ImportSummary()
        do {
            try await write(from: channel, to: store, console: console, ingestedAt: ingestedAt, summary: &summary, started: started)
        } catch {
            channel.finish()
            await reading
            throw error
        }
        await reading
        // The last checkpoint is part of the import's time: the data is in the database file.
        store.finishWriting()
        summary.rowCounts = try store.rowCounts()
        summary.elapsedSeconds = (clock.now - started).seconds
        return summary
    }

    // MARK: The writer (the caller's task)

    nonisolated(nonsending) private func write(from channel: BoundedChannel<[Event]>, to store: any Store, console: String, ingestedAt: String,
                       summary: inout ImportSummary, started: ContinuousClock.Instant) async throws {
        let clock = ContinuousClock()
        let writer = BatchWriter(store: store, batchSize: options.batchSize, commitInterval: options.commitInterval)
        var lastProgress = started
        try writer.begin()
        do {
            while let events = await channel.receive() {
                try store.prepare(events.compactMap { if case .analysis(let analysis) = $0 { analysis } else { nil } })
                for event in events {
                    switch event {
                    case .document(let bytes):
                        summary.documentsRead += 1
                        summary.bytesRead += bytes
                    case .problem(let problem):
                        summary.record(problem)
                        onProblem?(problem)
                    case .analysis(let analysis):
                        summary.analysesFound += 1
                        // Any error here ends the import and rolls the batch back: a threat's rows
                        // land whole or not at all (the decoder has already refused bad input).
                        let outcome = try store.store(analysis, console: console, ingestedAt: ingestedAt)
                        summary.outcomes[outcome, default: 0] += 1
                        if outcome == .conflict, let conflict = store.lastConflict {
                            let problem = ImportProblem(location: analysis.source, reason: "conflict: \(conflict)")
                            summary.record(problem)
                            onProblem?(problem)
                        }
                        writer.added()
                    }
                }
                let now = clock.now
                try writer.commitIfDue(now: now)
                if let onProgress, now - lastProgress > .milliseconds(500) {
                    lastProgress = now
                    onProgress(ImportProgress(
                        documentsRead: summary.documentsRead, analysesFound: summary.analysesFound, stored: summary.stored,
                        problems: summary.problemCount, bytesRead: summary.bytesRead, elapsedSeconds: (now - started).seconds))
                }
            }
            try writer.commit()
        } catch {
            writer.abandon()
            throw error
        }
    }

    // MARK: The reading stage (its own task)

    /// Events (about two per analysis) per message from the reading stage to the writer: the
    /// writer's `prepare` looks each message's threats up in one round trip (PostgreSQL), so
    /// larger messages mean fewer lookups (256 events: 78 for 20,000 analyses; 64 made 312).
    static let eventsPerMessage = 256

    /// Reads every input, parses and flattens, and sends events in small batches.
    package static func read(_ options: ImportOptions, ingestedAt: String, into channel: BoundedChannel<[Event]>) async {
        var pending: [Event] = []
        pending.reserveCapacity(Self.eventsPerMessage + 8)
        func flush() async -> Bool {
            defer { pending.removeAll(keepingCapacity: true) }
            return await channel.send(pending)
        }
        defer { channel.finish() }
        for input in options.inputs {
            let name = input == "-" ? "stdin" : input
            let reader: DocumentReader
            do {
                reader = try DocumentReader(path: input, maxDocumentBytes: options.maxDocumentBytes)
            } catch {
                pending.append(.problem(ImportProblem(location: name, reason: "\(error)")))
                continue
            }
            do {
                while let item = try reader.next() {
                    switch item {
                    case .problem(let location, let reason):
                        pending.append(.document(bytes: 0))
                        pending.append(.problem(ImportProblem(location: location.description, reason: reason)))
                    case .document(let bytes, let location):
                        pending.append(.document(bytes: bytes.count))
                        for result in AnalysisDecoder.decode(bytes: bytes, location: location) {
                            switch result {
                            case .failure(let problem):
                                pending.append(.problem(ImportProblem(location: problem.location.description, reason: problem.reason)))
                            case .success(let analysis):
                                pending.append(.analysis(AnalysisFlattener.flatten(analysis, ingestedAt: ingestedAt)))
                            }
                        }
                    }
                    if pending.count >= Self.eventsPerMessage, !(await flush()) { return }
                }
            } catch {
                pending.append(.problem(ImportProblem(location: name, reason: "\(error)")))
            }
        }
        _ = await flush()
    }
}
