import S1Storage
import S1Common
import S1JSON
import S1Model

/// The one writer: stores flattened analyses inside batch transactions. A threat's rows are
/// never split across transactions, and any error rolls the whole batch back, so each
/// threat's rows land whole or not at all while commits stay few.
public final class AnalysisStore {
    public let database: Database
    /// Insert statements by table and row count (index 0 unused), prepared on first use.
    private var inserts: [[Statement?]]
    /// Rows of the analysis being stored, grouped by table (reused between analyses).
    private var rowsByTable: [[FlattenedAnalysis.Row]]
    private let deleteThreatChildren: [Statement]
    private let deleteAgentChildren: [Statement]
    private let lookup: Statement
    private let storedBody: Statement
    private let touch: Statement
    /// What this writer last stored per agent: fingerprints of `agentRealtimeInfo` and of
    /// its interfaces. Committed state, and the open batch's on top.
    private struct AgentState: Equatable {
        package var agent: UInt64
        package var interfaces: UInt64
    }
    private var writtenAgents: [String: AgentState] = [:]
    private var pendingAgents: [String: AgentState] = [:]
    /// The console each agent is stored for, as far as this writer has read or written it.
    private var agentConsoles: [String: String] = [:]
    /// What the last `conflict` collided with.
    public private(set) var lastConflict: StoreConflict?
    private let agentConsole: Statement
    /// `rebuild`: every analysis replaces the stored rows, even with the same body or an
    /// older `updatedAt` (the body is the stored one, flattened again); an agent's row and
    /// interfaces are rewritten only from the analysis that last wrote them (its
    /// `last_threat_id`), so the agent keeps its latest state whatever the order.
    public var rebuilding = false
    private lazy var agentOwner = try? database.prepare("SELECT last_threat_id FROM agents WHERE agent_id = ?")

    /// Prepares the writer over a migrated database configured for writing.
    ///
    /// Foreign keys are declared in the schema but not checked row by row here: the
    /// flattener writes parents before children by construction, and checking costs one
    /// extra B-tree search per child row (about a third of the import time, measured).
    /// Tests run `PRAGMA foreign_key_check` on what this writer stores.
    public init(database: Database) throws {
        self.database = database
        try database.execute("PRAGMA foreign_keys = OFF")
        inserts = Table.allCases.map { _ in Array(repeating: nil, count: Self.maxRowsPerStatement + 1) }
        rowsByTable = Table.allCases.map { _ in [] }
        deleteThreatChildren = try Table.threatChildren.map { try database.prepare("DELETE FROM \($0.name) WHERE threat_id = ?") }
        deleteAgentChildren = try Table.agentChildren.map { try database.prepare("DELETE FROM \($0.name) WHERE agent_id = ?") }
        lookup = try database.prepare("""
            SELECT t.updated_at, r.body = ?2, t.console FROM threats t LEFT JOIN raw_analyses r ON r.threat_id = t.threat_id
            WHERE t.threat_id = ?1
            """)
        storedBody = try database.prepare("SELECT body FROM raw_analyses WHERE threat_id = ?1")
        touch = try database.prepare("UPDATE threats SET last_ingested_at = ?2 WHERE threat_id = ?1")
        agentConsole = try database.prepare("SELECT console FROM agents WHERE agent_id = ?1")
    }

    // MARK: Batches

    /// Starts a batch: `BEGIN IMMEDIATE`, so a competing writer is noticed now, not mid-batch.
    public func beginBatch() throws(SQLiteError) {
        try database.execute("BEGIN IMMEDIATE")
    }

    /// Commits the batch.
    public func commitBatch() throws(SQLiteError) {
        try database.execute("COMMIT")
        writtenAgents.merge(pendingAgents) { $1 }
        pendingAgents.removeAll(keepingCapacity: true)
    }

    /// Abandons the batch.
    public func rollbackBatch() {
        try? database.execute("ROLLBACK")
        pendingAgents.removeAll(keepingCapacity: true)
        // What the batch stored is gone: read agents' consoles again.
        agentConsoles.removeAll(keepingCapacity: true)
    }

    // MARK: Storing

    /// Stores one analysis inside the open batch. On error the caller must roll the batch
    /// back (`rollbackBatch()`): part of the analysis may have been written.
    public func store(_ analysis: FlattenedAnalysis, console: String, ingestedAt: String) throws -> StoreOutcome {
        try replaceOrInsert(analysis, console: console, ingestedAt: ingestedAt)
    }

    private func replaceOrInsert(_ analysis: FlattenedAnalysis, console: String, ingestedAt: String) throws -> StoreOutcome {
        var outcome = StoreOutcome.inserted
        // The body is bound without a copy, so the lookup is stepped and reset while it is pinned.
        let stored = try analysis.withBody { body -> (updatedAt: String?, sameBody: Bool, console: String)? in
            defer { lookup.reset() }
            lookup.bind(analysis.threatId, at: 1)
            lookup.bindTextNoCopy(body, at: 2)
            guard try lookup.step() else { return nil }
            return (lookup.string(0), !lookup.isNull(1) && lookup.int64(1) == 1, lookup.string(2) ?? ConsoleRef.defaultName)
        }
        if let conflict = try StoreConflict.find(threatId: analysis.threatId, storedConsole: stored?.console, agentId: analysis.agentId,
                                                 incomingConsole: console, agentConsole: consoleOfAgent) {
            lastConflict = conflict
            return .conflict
        }
        if let (storedUpdatedAt, sameBytes, _) = stored {
            // Other bytes may still be the same analysis (other white space, escapes or member
            // order, e.g. the body inside a Swimlane output): compared as JSON, only when the
            // update times agree (they differ for every real new version). A rebuild replaces all.
            let sameBody = try !rebuilding && (sameBytes || (analysis.updatedAt == storedUpdatedAt && sameAnalysisStored(analysis)))
            if !rebuilding && (sameBody || isOlder(analysis.updatedAt, than: storedUpdatedAt)) {
                try touch.run([.text(analysis.threatId), .text(ingestedAt)])
                return sameBody ? .unchanged : .stale
            }
            for statement in deleteThreatChildren { try statement.run([.text(analysis.threatId)]) }
            outcome = .updated
        }
        let known = analysis.agentId.flatMap { pendingAgents[$0] ?? writtenAgents[$0] }
        var agentChanged = analysis.agentId != nil && known?.agent != analysis.agentFingerprint
        var interfacesChanged = analysis.agentId != nil && known?.interfaces != analysis.interfacesFingerprint
        var notOwner = false
        if rebuilding, let agentId = analysis.agentId, let owner = try agentOwner?.rows([.text(agentId)]).first?.first?.textValue,
           owner != analysis.threatId {
            agentChanged = false
            interfacesChanged = false
            notOwner = true
        }
        if interfacesChanged, let agentId = analysis.agentId {
            for statement in deleteAgentChildren { try statement.run([.text(agentId)]) }
        }
        for index in rowsByTable.indices { rowsByTable[index].removeAll(keepingCapacity: true) }
        for row in analysis.rows { rowsByTable[row.table.rawValue].append(row) }
        for table in Table.allCases {
            if table == .agents && !agentChanged { continue }
            if (table == .interfaces || table == .interfaceAddresses) && !interfacesChanged { continue }
            var rows = rowsByTable[table.rawValue][...]
            while !rows.isEmpty {
                let chunk = rows.prefix(table.isUpserted ? 1 : Self.maxRowsPerStatement)
                rows = rows.dropFirst(chunk.count)
                try analysis.insert(chunk, with: try insertStatement(table, rowCount: chunk.count), console: table.hasConsole ? console : nil)
            }
        }
        if let agentId = analysis.agentId, !notOwner {
            pendingAgents[agentId] = AgentState(agent: analysis.agentFingerprint, interfaces: analysis.interfacesFingerprint)
        }
        if let agentId = analysis.agentId, agentChanged { agentConsoles[agentId] = console }
        return outcome
    }

    /// The console `agentId` is stored for; nil when it is not stored.
    private func consoleOfAgent(_ agentId: String) throws -> String? {
        if let known = agentConsoles[agentId] { return known }
        defer { agentConsole.reset() }
        agentConsole.bind(agentId, at: 1)
        guard try agentConsole.step() else { return nil }
        let console = agentConsole.string(0) ?? ConsoleRef.defaultName
        agentConsoles[agentId] = console
        return console
    }

    /// True when the stored raw body is the same JSON as `analysis`'s, formatting aside.
    private func sameAnalysisStored(_ analysis: FlattenedAnalysis) throws -> Bool {
        defer { storedBody.reset() }
        storedBody.bind(analysis.threatId, at: 1)
        guard try storedBody.step(), !storedBody.isNull(0) else { return false }
        guard let stored = storedBody.withText(0, { try? JSONDocument(bytes: Array($0)) }),
              let incoming = analysis.withBody({ try? JSONDocument(bytes: Array($0)) }) else { return false }
        return stored.root.isEquivalent(to: incoming.root)
    }

    /// Rows per multi-row INSERT; more are split into several statements.
    package static let maxRowsPerStatement = 32

    private func insertStatement(_ table: Table, rowCount: Int) throws(SQLiteError) -> Statement {
        if let statement = inserts[table.rawValue][rowCount] { return statement }
        let statement = try database.prepare(table.insertSQL(rowCount: rowCount))
        inserts[table.rawValue][rowCount] = statement
        return statement
    }

    private func isOlder(_ incoming: String?, than stored: String?) -> Bool {
        guard let incoming, let stored else { return false }
        return incoming < stored
    }

    // MARK: Reading back

    /// Rows per table, for summaries.
    public func rowCounts() throws -> [(table: String, rows: Int)] {
        try Table.allCases.map { table in
            (table.name, Int(try database.scalar("SELECT count(*) FROM \(table.name)").integerValue ?? 0))
        }
    }
}
