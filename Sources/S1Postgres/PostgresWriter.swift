import NIOCore
import PostgresNIO
import S1Common
import S1JSON
import S1Model
import S1Storage

/// The writer of flattened analyses, with SQLite's semantics (inserted, updated with its
/// children replaced, unchanged, stale; the raw body kept as received), batched for a server:
/// each `store` asks what is stored (one round trip), the rows wait in memory, and a flush sends
/// one multi-row statement per table (`INSERT ... SELECT FROM unnest(arrays)`), all pipelined.
/// A threat's rows always go out in one flush, inside the batch's transaction.
final class PostgresWriter {
    let connection: PGConnection
    var rebuilding = false

    /// The column types of each table (`Table.rawValue`), read from the catalog.
    private let columnTypes: [[String]]
    private let insertSQL: [String]
    /// The primary key's columns of each table (indexes into `Table.columns`).
    private let primaryKeys: [[Int]]

    private struct AgentState: Equatable {
        var agent: UInt64
        var interfaces: UInt64
    }
    private var writtenAgents: [String: AgentState] = [:]
    private var pendingAgents: [String: AgentState] = [:]

    // What waits for the next flush.
    private var analyses: [FlattenedAnalysis] = []
    /// The console of each waiting analysis.
    private var consoles: [String] = []
    /// Whether each waiting analysis is of a threat not stored before.
    private var isNew: [Bool] = []
    private var ingestedAts: [String] = []
    private var pendingThreats: Set<String> = []
    /// Analyses (indexes into `analyses`) whose agent row is written, by agent (the latest wins).
    private var agentWriters: [String: Int] = [:]
    /// Analyses whose interface rows are written, by agent (the latest wins).
    private var interfaceWriters: [String: Int] = [:]
    private var touched: [(threatId: String, at: String)] = []
    /// Queue rows to mark done with the next flush.
    private var queueMarks: [(id: String, attempts: Int, at: String, runId: Int64?)] = []
    /// Raw bodies' source and time to put back after they are stored again (`rebuild`).
    private var rawMetadata: [(threatId: String, source: String?, ingestedAt: String)] = []
    /// Updated threats, whose stored children the flush deletes.
    private var threatsToClear: [String] = []
    /// What `prepare` found stored (nil: not stored), by threat, until its `store` or the batch's end.
    private var prepared: [String: Stored?] = [:]

    private struct Stored {
        var updatedAt: String?
        var bodyLength: Int?
        var console: String
        /// The stored body, when `prepare` saw it has the incoming body's length.
        var body: [UInt8]? = nil
    }

    /// The console each agent is stored for (nil: not stored), as far as this writer has read
    /// or written it.
    private var agentConsoles: [String: String?] = [:]
    /// What the last `conflict` collided with.
    private(set) var lastConflict: StoreConflict?

    /// A second connection for `prepare`'s lookups, so they run while the writer's connection
    /// inserts the previous flush. It sees committed rows only: threats this batch has flushed
    /// (`batchThreats`) are looked up on the writer's connection instead.
    private var lookupConnection: PGConnection?
    private var batchThreats: Set<String> = []
    /// The last flight sent, while the server may still be working on it.
    private var flight: PGFlight?
    /// What a batch being closed wrote: its threats (looked up on the writer's connection until
    /// its commit is answered) and its agents (known stored once it is).
    private struct Committing {
        var threats: Set<String>
        var agents: [String: AgentState]
    }
    /// The batch the flight in the air commits.
    private var flightCommits: Committing?

    /// The agent rows this batch writes at its commit, under ``agentLockKey``: per agent, the
    /// latest analysis (of any flush of the batch) whose agent row, or whose interfaces, changed,
    /// with its console. Written once per batch, not once per flush that saw the agent (an
    /// import's agents, with threats in every flush, were written five times per batch: a fifth
    /// of the server's time).
    private var batchAgentRows: [String: AgentSource] = [:]
    private var batchInterfaceRows: [String: AgentSource] = [:]
    private typealias AgentSource = (analysis: FlattenedAnalysis, console: String)
    /// The advisory lock (per transaction) a writer holds while it writes agent rows.
    static let agentLockKey: Int64 = 0x5331_4947_0003

    /// The largest binary COPY of each table so far (`Table.rawValue`), reserved for the next.
    private var copyBytes = [Int](repeating: 0, count: Table.allCases.count)

    /// Analyses held before a flush within a batch (bounds memory and keeps the server busy).
    static let flushEvery = 1000

    init(connection: PGConnection) throws {
        self.connection = connection
        var types: [[String]] = []
        var inserts: [String] = []
        var keys: [[Int]] = []
        for table in Table.allCases {
            var binds = PostgresBindings()
            binds.text(table.name)
            let rows = try connection.query("""
                SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
                WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
                """, binds)
            var byName: [String: String] = [:]
            for row in rows { byName[try row[0].decode(String.self)] = try row[1].decode(String.self) }
            let tableTypes = try table.columns.map { column -> String in
                guard let type = byName[column] else {
                    throw PostgresStoreError.server(location: connection.location.shown, detail: "table \(table.name) has no column \(column): the schema is not s1ingest's")
                }
                return type
            }
            types.append(tableTypes)
            inserts.append(Self.insertSQL(table, types: tableTypes))
            let keyColumns = try connection.query("""
                SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
                WHERE i.indrelid = to_regclass($1) AND i.indisprimary
                """, binds).map { try $0[0].decode(String.self) }
            keys.append(keyColumns.compactMap { table.columns.firstIndex(of: $0) })
        }
        columnTypes = types
        insertSQL = inserts
        primaryKeys = keys
    }

    deinit {
        _ = try? settle()
        lookupConnection?.close()
    }

    /// `INSERT INTO t (columns) SELECT * FROM unnest($1::type[], ...)`: one parameter per column,
    /// any number of rows; an upsert for the keyed parents, duplicates ignored for an agent's
    /// interfaces. A threat's children go in plainly: the flush has just deleted an updated
    /// threat's stored ones, and left out repeated keys, as SQLite's INSERT OR IGNORE does.
    static func insertSQL(_ table: Table, types: [String], plain: Bool = false) -> String {
        let columns = table.columns + (table.carriesConsole ? ["console"] : [])
        let arrays = (types + (table.carriesConsole ? ["text"] : [])).enumerated().map { "$\($0.offset + 1)::\($0.element)[]" }
            .joined(separator: ", ")
        let insert = "INSERT INTO \(table.name) (\(columns.joined(separator: ", "))) SELECT * FROM unnest(\(arrays))"
        if plain { return insert }
        let key: String
        switch table {
        case .agents: key = "agent_id"
        case .threats, .rawAnalyses: key = "threat_id"
        case .interfaces, .interfaceAddresses: return insert + " ON CONFLICT DO NOTHING"
        default: return insert
        }
        // The console stays: an analysis from another console is refused before the insert.
        let updates = columns.filter { $0 != key && $0 != "first_ingested_at" && $0 != "console" }.map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        return "\(insert) ON CONFLICT (\(key)) DO UPDATE SET \(updates)"
    }

    // MARK: Batches

    func beginBatch() throws {
        try db().query("BEGIN")
        connection.inTransaction = true
    }

    func commitBatch() throws {
        let (steps, commits) = closingSteps()
        try send(steps + [.query("COMMIT")], commits: commits)
        try settle()
        connection.inTransaction = false
    }

    /// Commits the batch and opens the next without waiting for the server: the last rows, the
    /// agent rows, `COMMIT` and `BEGIN` go out as one flight, which the server works through
    /// while the caller builds the next batch's rows (waiting for each commit left the server
    /// idle while the client built the first flush of the next batch, and the client idle while
    /// the server committed). A failure of that commit is thrown by the next call that waits for
    /// the connection, before anything of the next batch is sent, let alone committed; until the
    /// commit is answered, its threats are looked up on this connection, not the lookup one
    /// (which sees committed rows only).
    func rotateBatch() throws {
        let (steps, commits) = closingSteps()
        try send(steps + [.query("COMMIT"), .query("BEGIN")], commits: commits)
    }

    /// What ends a batch before its `COMMIT` (the last flush, then the agent rows), and what
    /// the batch wrote.
    private func closingSteps() -> (steps: [PGFlushStep], commits: Committing) {
        prepared.removeAll(keepingCapacity: true)
        var steps = flushSteps()
        if !batchAgentRows.isEmpty || !batchInterfaceRows.isEmpty {
            // One writer at a time writes agent rows, just before its commit: the row locks of
            // agents shared by several workers' batches are then taken in turn and held for
            // moments, not across a batch in whatever order its threats came (which deadlocked
            // workers: two batches each waiting for an agent the other had written).
            steps.append(.query(PostgresQuery(unsafeSQL: "SELECT pg_advisory_xact_lock(\(Self.agentLockKey))")))
            steps += agentSteps(agents: batchAgentRows.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                                interfaces: batchInterfaceRows.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
            batchAgentRows.removeAll(keepingCapacity: true)
            batchInterfaceRows.removeAll(keepingCapacity: true)
        }
        let commits = Committing(threats: batchThreats, agents: pendingAgents)
        batchThreats.removeAll(keepingCapacity: true)
        pendingAgents.removeAll(keepingCapacity: true)
        return (steps, commits)
    }

    func rollbackBatch() {
        prepared.removeAll(keepingCapacity: true)
        batchAgentRows.removeAll(keepingCapacity: true)
        batchInterfaceRows.removeAll(keepingCapacity: true)
        agentConsoles.removeAll(keepingCapacity: true)
        clearPending()
        _ = try? settle()
        _ = try? connection.query("ROLLBACK")
        batchThreats.removeAll(keepingCapacity: true)
        connection.inTransaction = false
        pendingAgents.removeAll(keepingCapacity: true)
    }

    // MARK: Storing

    /// Looks up the stored version of every threat of `analyses`, and the console of every agent
    /// not known yet, in one round trip.
    func prepare(_ analyses: [FlattenedAnalysis]) throws {
        var threats = PGArrayBuilder(), lengths = PGArrayBuilder(.bigint), agents = PGArrayBuilder()
        var threatIds: [String] = []
        var agentIds: Set<String> = []
        for analysis in analyses where !pendingThreats.contains(analysis.threatId) && !batchThreats.contains(analysis.threatId)
            && flightCommits?.threats.contains(analysis.threatId) != true
            && prepared[analysis.threatId] == nil {
            threatIds.append(analysis.threatId)
            threats.appendText(analysis.threatId)
            lengths.appendInt64(Int64(analysis.withBody { $0.count }))
            if let agentId = analysis.agentId, agentConsoles[agentId] == nil, agentIds.insert(agentId).inserted { agents.appendText(agentId) }
        }
        guard !threatIds.isEmpty else { return }
        var threatBinds = PostgresBindings()
        threatBinds.append(threats.finish())
        threatBinds.append(lengths.finish())
        var agentBinds = PostgresBindings()
        agentBinds.append(agents.finish())
        // The stored body comes along when it is as long as the incoming one (maybe the same):
        // the comparison needs no further round trip.
        if lookupConnection == nil { lookupConnection = try PGConnection.open(connection.location, environment: connection.environment) }
        let (threatRows, agentRows) = try lookupConnection!.pipelineRows(
            PostgresQuery(unsafeSQL: """
                SELECT t.threat_id, \(isoText("t.updated_at")), octet_length(r.body::text), t.console,
                       CASE WHEN octet_length(r.body::text) = u.length THEN r.body::text END
                FROM unnest($1::text[], $2::bigint[]) AS u(id, length) JOIN threats t ON t.threat_id = u.id
                LEFT JOIN raw_analyses r ON r.threat_id = t.threat_id
                """, binds: threatBinds),
            PostgresQuery(unsafeSQL: "SELECT agent_id, console FROM agents WHERE agent_id = ANY($1::text[])", binds: agentBinds))
        for id in threatIds { prepared[id] = .some(nil) }
        for row in threatRows {
            prepared[try row[0].decode(String.self)] = Stored(updatedAt: try row[1].decode(String?.self), bodyLength: try row[2].decode(Int?.self),
                                                              console: try row[3].decode(String.self),
                                                              body: row[4].bytes.map { Array($0.readableBytesView) })
        }
        for id in agentIds { agentConsoles[id] = .some(nil) }
        for row in agentRows { agentConsoles[try row[0].decode(String.self)] = .some(try row[1].decode(String.self)) }
    }

    /// The console `agentId` is stored for; nil when it is not stored.
    private func consoleOfAgent(_ agentId: String) throws -> String? {
        if let known = agentConsoles[agentId] { return known }
        var binds = PostgresBindings()
        binds.text(agentId)
        let console = try db().scalar("SELECT console FROM agents WHERE agent_id = $1", binds, as: String.self)
        agentConsoles[agentId] = .some(console)
        return console
    }

    func store(_ analysis: FlattenedAnalysis, console: String, ingestedAt: String) throws -> StoreOutcome {
        if pendingThreats.contains(analysis.threatId) {
            prepared[analysis.threatId] = nil
            try flush()
        }
        var outcome = StoreOutcome.inserted
        let stored: Stored?
        if let known = prepared.removeValue(forKey: analysis.threatId) {
            stored = known
        } else {
            var binds = PostgresBindings()
            binds.text(analysis.threatId)
            stored = try db().query("""
                SELECT \(isoText("t.updated_at")), octet_length(r.body::text), t.console FROM threats t
                LEFT JOIN raw_analyses r ON r.threat_id = t.threat_id WHERE t.threat_id = $1
                """, binds).first.map {
                Stored(updatedAt: try $0[0].decode(String?.self), bodyLength: try $0[1].decode(Int?.self), console: try $0[2].decode(String.self))
            }
        }
        if let conflict = try StoreConflict.find(threatId: analysis.threatId, storedConsole: stored?.console, agentId: analysis.agentId,
                                                 incomingConsole: console, agentConsole: consoleOfAgent) {
            lastConflict = conflict
            return .conflict
        }
        if let stored {
            let storedUpdatedAt = stored.updatedAt
            let incomingLength = analysis.withBody { $0.count }
            var sameBody = false
            if !rebuilding && (stored.bodyLength == incomingLength || analysis.updatedAt == storedUpdatedAt) {
                sameBody = try sameAnalysisStored(analysis, storedBody: stored.body)
            }
            if !rebuilding && (sameBody || isOlder(analysis.updatedAt, than: storedUpdatedAt)) {
                touched.append((analysis.threatId, ingestedAt))
                pendingThreats.insert(analysis.threatId)
                return sameBody ? .unchanged : .stale
            }
            threatsToClear.append(analysis.threatId)
            outcome = .updated
        }
        let known = analysis.agentId.flatMap { pendingAgents[$0] ?? flightCommits?.agents[$0] ?? writtenAgents[$0] }
        var agentChanged = analysis.agentId != nil && known?.agent != analysis.agentFingerprint
        var interfacesChanged = analysis.agentId != nil && known?.interfaces != analysis.interfacesFingerprint
        var notOwner = false
        if rebuilding, let agentId = analysis.agentId {
            var binds = PostgresBindings()
            binds.text(agentId)
            if try flushIfAgentPending(agentId),
               let owner = try db().scalar("SELECT last_threat_id FROM agents WHERE agent_id = $1", binds, as: String.self),
               owner != analysis.threatId {
                agentChanged = false
                interfacesChanged = false
                notOwner = true
            }
        }
        let index = analyses.count
        analyses.append(analysis)
        consoles.append(console)
        isNew.append(outcome == .inserted)
        ingestedAts.append(ingestedAt)
        pendingThreats.insert(analysis.threatId)
        if let agentId = analysis.agentId {
            if agentChanged {
                agentWriters[agentId] = index
                agentConsoles[agentId] = .some(console)
            }
            if interfacesChanged {
                interfaceWriters[agentId] = index
            }
            if !notOwner {
                pendingAgents[agentId] = AgentState(agent: analysis.agentFingerprint, interfaces: analysis.interfacesFingerprint)
            }
        }
        if analyses.count >= Self.flushEvery { try flush() }
        return outcome
    }

    /// Flushes when `agentId`'s rows wait, so the catalog answers about them; true always.
    private func flushIfAgentPending(_ agentId: String) throws -> Bool {
        if agentWriters[agentId] != nil || interfaceWriters[agentId] != nil { try flush() }
        return true
    }

    /// True when the stored raw body is the same JSON as `analysis`'s: the same bytes, or
    /// equivalent JSON (white space, escapes, member order).
    private func sameAnalysisStored(_ analysis: FlattenedAnalysis, storedBody: [UInt8]?) throws -> Bool {
        let stored: [UInt8]
        if let storedBody {
            stored = storedBody
        } else {
            var binds = PostgresBindings()
            binds.text(analysis.threatId)
            guard let cell = try db().query("SELECT body::text FROM raw_analyses WHERE threat_id = $1", binds).first?.first,
                  let buffer = cell.bytes else { return false }
            stored = Array(buffer.readableBytesView)
        }
        if analysis.withBody({ $0.elementsEqual(stored) }) { return true }
        guard let storedDocument = try? JSONDocument(bytes: stored),
              let incoming = analysis.withBody({ try? JSONDocument(bytes: Array($0)) }) else { return false }
        return storedDocument.root.isEquivalent(to: incoming.root)
    }

    private func isOlder(_ incoming: String?, than stored: String?) -> Bool {
        guard let incoming, let stored else { return false }
        return incoming < stored
    }

    // MARK: Flushing

    private func clearPending() {
        analyses.removeAll(keepingCapacity: true)
        consoles.removeAll(keepingCapacity: true)
        isNew.removeAll(keepingCapacity: true)
        ingestedAts.removeAll(keepingCapacity: true)
        pendingThreats.removeAll(keepingCapacity: true)
        agentWriters.removeAll(keepingCapacity: true)
        interfaceWriters.removeAll(keepingCapacity: true)
        touched.removeAll(keepingCapacity: true)
        threatsToClear.removeAll(keepingCapacity: true)
        rawMetadata.removeAll(keepingCapacity: true)
        queueMarks.removeAll(keepingCapacity: true)
    }

    /// Marks a queue row done with the next flush (in the open batch, after the analysis it
    /// fetched).
    func markDone(_ id: String, attempts: Int, runId: Int64?, at now: String) throws {
        queueMarks.append((id, attempts, now, runId))
        if queueMarks.count >= Self.flushEvery { try flush() }
    }

    /// Sends what waits: touches, deletes of replaced children, then one INSERT per table, pipelined.
    func flush() throws {
        let steps = flushSteps()
        if !steps.isEmpty { try send(steps) }
    }

    /// What waits, as the steps of a flush (touches, deletes of replaced children, then one
    /// INSERT or COPY per table); nothing waits after it.
    private func flushSteps() -> [PGFlushStep] {
        defer { clearPending() }
        guard !analyses.isEmpty || !touched.isEmpty || !rawMetadata.isEmpty || !queueMarks.isEmpty else { return [] }
        var queries: [PGFlushStep] = []
        // Agents are shared by threats that several workers write at once: their rows wait for
        // the commit (see `commitBatch`), unless a rebuild (one process) reads them back.
        let deferAgents = !rebuilding && connection.inTransaction
        if !touched.isEmpty {
            var ids = PGArrayBuilder(), times = PGArrayBuilder()
            for (threatId, at) in touched {
                ids.appendText(threatId)
                times.appendText(at)
            }
            var binds = PostgresBindings()
            binds.append(ids.finish())
            binds.append(times.finish())
            queries.append(.query(PostgresQuery(unsafeSQL: """
                UPDATE threats SET last_ingested_at = u.at::timestamptz FROM unnest($1::text[], $2::text[]) AS u(id, at)
                WHERE threats.threat_id = u.id
                """, binds: binds)))
        }
        let agentSources = agentWriters.sorted { $0.value < $1.value }.map { ($0.key, (analyses[$0.value], consoles[$0.value])) }
        let interfaceSources = interfaceWriters.sorted { $0.value < $1.value }.map { ($0.key, (analyses[$0.value], consoles[$0.value])) }
        if deferAgents {
            for (agentId, source) in agentSources { batchAgentRows[agentId] = source }
            for (agentId, source) in interfaceSources { batchInterfaceRows[agentId] = source }
        } else {
            queries += agentSteps(agents: agentSources, interfaces: interfaceSources)
        }
        for table in Table.allCases {
            if table == .threats || table == .rawAnalyses {
                if let query = insertQuery(table, new: true) { queries.append(query) }
                if let query = insertQuery(table, new: false) { queries.append(query) }
            } else if table != .agents && !Table.agentChildren.contains(table), let query = insertQuery(table) {
                queries.append(query)
            }
            if table == .threats && !threatsToClear.isEmpty {
                // After the threats' upsert holds their rows: an updated threat's children go.
                // (A new threat's have nothing to clear: deleting them anyway cost a fifth of an
                // import. Two writers storing the same new threat at once: the second's batch
                // fails on the children's keys and is rolled back whole.)
                let ids = Self.idArray(threatsToClear)
                for child in Table.threatChildren {
                    queries.append(.query(PostgresQuery(unsafeSQL: "DELETE FROM \(child.name) WHERE threat_id = ANY($1::text[])", binds: ids)))
                }
            }
        }
        if !rawMetadata.isEmpty {
            var ids = PGArrayBuilder(), sources = PGArrayBuilder(), times = PGArrayBuilder()
            for entry in rawMetadata {
                ids.appendText(entry.threatId)
                if let source = entry.source { sources.appendText(source) } else { sources.appendNull() }
                times.appendText(entry.ingestedAt)
            }
            var binds = PostgresBindings()
            binds.append(ids.finish())
            binds.append(sources.finish())
            binds.append(times.finish())
            queries.append(.query(PostgresQuery(unsafeSQL: """
                UPDATE raw_analyses SET source = u.source, ingested_at = u.at::timestamptz
                FROM unnest($1::text[], $2::text[], $3::text[]) AS u(id, source, at) WHERE raw_analyses.threat_id = u.id
                """, binds: binds)))
        }
        if !queueMarks.isEmpty {
            var ids = PGArrayBuilder(), attempts = PGArrayBuilder(.bigint), times = PGArrayBuilder(), runs = PGArrayBuilder(.bigint)
            for mark in queueMarks {
                ids.appendText(mark.id)
                attempts.appendInt64(Int64(mark.attempts))
                times.appendText(mark.at)
                if let runId = mark.runId { runs.appendInt64(runId) } else { runs.appendNull() }
            }
            var binds = PostgresBindings()
            binds.append(ids.finish())
            binds.append(attempts.finish())
            binds.append(times.finish())
            binds.append(runs.finish())
            queries.append(.query(PostgresQuery(unsafeSQL: """
                UPDATE ingest_queue q SET state = 'done', attempts = u.attempts, last_status = 200, last_error = NULL, next_attempt_at = NULL,
                    updated_at = u.at::timestamptz, run_id = u.run_id, lease_owner = NULL, lease_expires_at = NULL
                FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[]) AS u(id, attempts, at, run_id) WHERE q.threat_id = u.id
                """, binds: binds)))
        }
        batchThreats.formUnion(analyses.map(\.threatId))
        batchThreats.formUnion(touched.map(\.threatId))
        return queries
    }

    /// Sends `steps` as the next flight, once the one before is answered; `commits`: what the
    /// batch it commits wrote.
    private func send(_ steps: [PGFlushStep], commits: Committing? = nil) throws {
        try settle()
        flight = PGFlight(steps, on: connection)
        flightCommits = commits
    }

    /// Waits until the flight in the air is answered; throws its error. When it committed a
    /// batch, what the batch wrote is known stored from then on.
    func settle() throws {
        guard let flight else { return }
        self.flight = nil
        let commits = flightCommits
        flightCommits = nil
        try flight.wait(location: connection.location)
        if let commits { writtenAgents.merge(commits.agents) { $1 } }
    }

    /// Waits until the flush in flight is answered, leaving its error for the next `settle`.
    func land() {
        flight?.land()
    }

    /// The connection, once nothing of the writer's is in flight on it.
    func db() throws -> PGConnection {
        try settle()
        return connection
    }

    private static func idArray(_ ids: [String]) -> PostgresBindings {
        var array = PGArrayBuilder()
        for id in ids { array.appendText(id) }
        var binds = PostgresBindings()
        binds.append(array.finish())
        return binds
    }

    /// The agent rows of `agents` (upserts) and the interfaces of `interfaces` (each agent's
    /// stored ones deleted, then the analysis's inserted).
    private func agentSteps(agents: [(agentId: String, source: AgentSource)], interfaces: [(agentId: String, source: AgentSource)]) -> [PGFlushStep] {
        var steps: [PGFlushStep] = []
        if !interfaces.isEmpty {
            let ids = Self.idArray(interfaces.map(\.agentId))
            for table in Table.agentChildren {
                steps.append(.query(PostgresQuery(unsafeSQL: "DELETE FROM \(table.name) WHERE agent_id = ANY($1::text[])", binds: ids)))
            }
        }
        if let query = insertQuery(.agents, from: agents) { steps.append(query) }
        for table in [Table.interfaces, .interfaceAddresses] {
            if let query = insertQuery(table, from: interfaces) { steps.append(query) }
        }
        return steps
    }

    /// The INSERT of every waiting row of `table`, or nil when none waits.
    /// `new`: only the rows of threats stored for the first time (a plain INSERT), or only the
    /// others (the upsert); nil: every row.
    /// Rows that need no ON CONFLICT (threats and raw bodies stored for the first time, a
    /// threat's children) go by `COPY ... FROM STDIN`: about a third less of the server's CPU
    /// per row than `INSERT ... SELECT FROM unnest(arrays)`; in the binary format
    /// (`PGCopyBinary`), unless a column has a type it cannot send (then the text format).
    private func insertQuery(_ table: Table, new: Bool? = nil, from sources: [(agentId: String, source: AgentSource)] = []) -> PGFlushStep? {
        let types = columnTypes[table.rawValue]
        let elements = types.map { PGElement(columnType: $0) }
        let byCopy = new == true || (new == nil && Table.threatChildren.contains(table))
        let binary = byCopy && types.allSatisfy(PGElement.isBinaryExact)
        let fieldCount = types.count + (table.carriesConsole ? 1 : 0)
        var columns = byCopy ? [] : elements.map { PGArrayBuilder($0) }
        var consoleColumn = PGArrayBuilder()
        var copyText = PGCopyText()
        var copyBinary = PGCopyBinary(capacity: binary ? copyBytes[table.rawValue] + copyBytes[table.rawValue] / 8 : 0)
        var rowCount = 0
        func add(_ analysis: FlattenedAnalysis, _ console: String, _ row: FlattenedAnalysis.Row) {
            if binary {
                copyBinary.beginRow(fieldCount: fieldCount)
                analysis.arena.withUnsafeBytes { arena in
                    for (column, value) in analysis.values(of: row).enumerated() {
                        copyBinary.append(value, elements[column], arena: arena)
                    }
                }
                if table.carriesConsole { copyBinary.appendText(console) }
            } else if byCopy {
                analysis.arena.withUnsafeBytes { arena in
                    for (column, value) in analysis.values(of: row).enumerated() {
                        copyText.append(value, elements[column], arena: arena)
                    }
                }
                if table.carriesConsole { copyText.appendText(console) }
                copyText.endRow()
            } else {
                analysis.arena.withUnsafeBytes { arena in
                    for (column, value) in analysis.values(of: row).enumerated() {
                        columns[column].append(value, arena: arena)
                    }
                }
                if table.carriesConsole { consoleColumn.appendText(console) }
            }
            rowCount += 1
        }
        switch table {
        case .agents, .interfaces, .interfaceAddresses:
            for (_, source) in sources {
                for row in source.analysis.rows where row.table == table { add(source.analysis, source.console, row) }
            }
        default:
            let key = primaryKeys[table.rawValue]
            let dedupe = Table.threatChildren.contains(table) && !key.isEmpty
            var seen = Set<[UInt8]>()
            var kept: [FlattenedAnalysis.Row] = []
            // By index, not `enumerated()`: each copy of an analysis retains its seven fields,
            // and this runs once per table for every analysis of the flush.
            analyses.withUnsafeBufferPointer { all in
                for index in all.indices {
                    if let new, isNew[index] != new { continue }
                    kept.removeAll(keepingCapacity: true)
                    seen.removeAll(keepingCapacity: true)
                    for row in all[index].rows where row.table == table {
                        if dedupe {
                            // A few rows: compared with the kept ones; more: through a set of keys.
                            if kept.count < 16 {
                                if kept.contains(where: { Self.sameKey(all[index], $0, row, key) }) { continue }
                                kept.append(row)
                                if kept.count == 16 { for earlier in kept { seen.insert(Self.keyBytes(all[index], earlier, key)) } }
                            } else if !seen.insert(Self.keyBytes(all[index], row, key)).inserted {
                                continue
                            }
                        }
                        add(all[index], consoles[index], row)
                    }
                }
            }
        }
        guard rowCount > 0 else { return nil }
        if byCopy {
            if binary { copyBytes[table.rawValue] = max(copyBytes[table.rawValue], copyBinary.count) }
            return .copy(table: table.name, columns: table.columns + (table.carriesConsole ? ["console"] : []),
                         data: binary ? copyBinary.buffer() : copyText.buffer(), binary: binary)
        }
        var binds = PostgresBindings(capacity: columns.count)
        for index in columns.indices { binds.append(columns[index].finish()) }
        if table.carriesConsole { binds.append(consoleColumn.finish()) }
        return .query(PostgresQuery(unsafeSQL: insertSQL[table.rawValue], binds: binds))
    }

    /// True when rows `a` and `b` of `analysis` have the same values in the `key` columns.
    private static func sameKey(_ analysis: FlattenedAnalysis, _ a: FlattenedAnalysis.Row, _ b: FlattenedAnalysis.Row, _ key: [Int]) -> Bool {
        for column in key {
            let left = analysis.values[Int(a.first) + column], right = analysis.values[Int(b.first) + column]
            switch (left, right) {
            case (.null, .null): continue
            case (.integer(let x), .integer(let y)) where x == y: continue
            case (.text(let start, let count), .text(let otherStart, let otherCount)) where count == otherCount:
                if analysis.arena[Int(start) ..< Int(start + count)].elementsEqual(analysis.arena[Int(otherStart) ..< Int(otherStart + count)]) { continue }
                return false
            default: return false
            }
        }
        return true
    }

    /// The values of `row`'s primary key columns, as bytes that differ when the key does.
    private static func keyBytes(_ analysis: FlattenedAnalysis, _ row: FlattenedAnalysis.Row, _ key: [Int]) -> [UInt8] {
        var bytes: [UInt8] = []
        let values = analysis.values(of: row)
        for column in key {
            switch values[values.startIndex + column] {
            case .null: bytes.append(0)
            case .integer(let number):
                bytes.append(1)
                withUnsafeBytes(of: number) { bytes.append(contentsOf: $0) }
            case .text(let start, let count):
                bytes.append(2)
                withUnsafeBytes(of: count) { bytes.append(contentsOf: $0) }
                bytes.append(contentsOf: analysis.arena[Int(start) ..< Int(start + count)])
            }
        }
        return bytes
    }

    /// Puts back a raw body's source and time with the next flush (after it is stored again).
    func keepRawMetadata(threatId: String, source: String?, ingestedAt: String) {
        rawMetadata.append((threatId, source, ingestedAt))
    }

    // MARK: Reading back

    func rowCounts() throws -> [(table: String, rows: Int)] {
        let sql = Table.allCases.map { "SELECT \($0.rawValue), count(*) FROM \($0.name)" }.joined(separator: " UNION ALL ")
        var counts: [Int: Int] = [:]
        for row in try db().query(sql) { counts[try row[0].decode(Int.self)] = try row[1].decode(Int.self) }
        return Table.allCases.map { ($0.name, counts[$0.rawValue] ?? 0) }
    }
}

extension Table {
    /// True for the tables whose rows say which console they came from (a last column, `console`).
    var carriesConsole: Bool { self == .threats || self == .agents }
}

/// A value already in PostgreSQL's binary format for `type`.
struct PGBinaryValue: PostgresDynamicTypeEncodable {
    var bytes: ByteBuffer
    var psqlType: PostgresDataType
    var psqlFormat: PostgresFormat { .binary }

    init(_ bytes: ByteBuffer, type: PostgresDataType) {
        self.bytes = bytes
        self.psqlType = type
    }

    func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        var copy = bytes
        byteBuffer.writeBuffer(&copy)
    }
}
