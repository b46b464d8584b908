import S1JSON

/// Datasette metadata (`datasette DB -m metadata.json`) for an s1ingest database, made from
/// the schema itself: each table's and view's description is the comment on its `CREATE`
/// line (and, for views, the comment lines right after it), each column's description the
/// comment at the end of its line in the `CREATE TABLE`. What `s1ingest schema --datasette`
/// prints; nothing here is written by hand twice.
public enum DatasetteMetadata {
    /// One table or view as Datasette shows it.
    public struct Table: Sendable {
        public let name: String
        public let isView: Bool
        public let description: String?
        /// Column name and description, in the table's column order (commented columns only).
        public let columns: [(name: String, description: String)]
        /// Every column of the table or view, in order.
        public let allColumns: [String]
        public let labelColumn: String?
        public let facets: [String]
        public let sortDescending: String?
    }

    public static let title = "s1ingest: SentinelOne threat analyses"
    public static let databaseDescription = """
        SentinelOne threat analyses flattened by s1ingest: one row per threat, agent, network interface, \
        mitigation, detection engine and indicator, the raw JSON bodies, and views for the weekly questions.
        """

    /// The column whose value names a row, for links from other tables (Datasette `label_column`).
    public static let labelColumns = ["agents": "agent_computer_name", "interfaces": "name"]

    /// Suggested facets per table or view: classification, incident status and site where they exist.
    public static let facets: [String: [String]] = [
        "threats": ["classification", "incident_status", "detection_site_name"],
        "threat_overview": ["classification", "incident_status", "site_name"],
        "agents": ["site_name", "agent_os_type"],
        "agent_exposure": ["site_name"],
        "mitigations": ["action", "status"],
        "mitigation_failures": ["action", "site_name", "classification", "incident_status"],
        "new_threats_per_day": ["classification"],
        "ingest_queue": ["state"],
        "ingest_runs": ["command", "status"],
    ]

    /// Newest first where that is what one wants to see.
    public static let sortDescending = [
        "threats": "created_at", "threat_overview": "created_at", "ingest_runs": "run_id", "raw_analyses": "ingested_at",
    ]

    /// The tables and views of a fresh, fully migrated database, in creation order.
    public static func tables() throws -> [Table] {
        let database = try Database(path: ":memory:")
        try Migrator.migrate(database)
        let rows = try database.query("""
            SELECT name, type, sql FROM sqlite_master
            WHERE type IN ('table', 'view') AND sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid
            """)
        return try rows.map { row in
            let name = row[0].textValue ?? "", isView = row[1].textValue == "view", sql = row[2].textValue ?? ""
            let columns = try database.query("SELECT name FROM pragma_table_info(?)", [.text(name)]).compactMap { $0.first?.textValue }
            let comments = columnComments(sql: sql, columns: Set(columns))
            return Table(name: name, isView: isView, description: description(sql: sql),
                         columns: columns.compactMap { column in comments[column].map { (column, $0) } },
                         allColumns: columns, labelColumn: labelColumns[name], facets: facets[name] ?? [],
                         sortDescending: sortDescending[name])
        }
    }

    /// The comment on the `CREATE` line, with the `--` lines that directly follow it.
    static func description(sql: String) -> String? {
        let lines = sql.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmedForSchema }
        guard let first = lines.first, let comment = trailingComment(first) else { return nil }
        var parts = [comment]
        for line in lines.dropFirst() {
            guard line.hasPrefix("--") else { break }
            parts.append(line.dropFirst(2).trimmedForSchema)
        }
        return parts.filter { !$0.isEmpty }.joined(separator: " ")
    }

    /// Column name → the comment at the end of the line that defines it.
    static func columnComments(sql: String, columns: Set<String>) -> [String: String] {
        var comments: [String: String] = [:]
        for line in sql.split(separator: "\n").dropFirst() {
            let text = line.trimmedForSchema
            guard !text.hasPrefix("--"), let comment = trailingComment(text) else { continue }
            var name = String(text.prefix { $0 != " " && $0 != "\t" && $0 != "," })
            if name.count >= 2, let quote = name.first, "\"`[".contains(quote) { name = String(name.dropFirst().dropLast()) }
            if columns.contains(name), comments[name] == nil { comments[name] = comment }
        }
        return comments
    }

    /// What follows the first `--` outside a quoted string, trimmed; nil when there is none.
    static func trailingComment(_ line: String) -> String? {
        var quote: Character?
        var previous: Character?
        for index in line.indices {
            let character = line[index]
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "'" || character == "\"" {
                quote = character
            } else if character == "-" && previous == "-" {
                let comment = line[line.index(after: index)...].trimmedForSchema
                return comment.isEmpty ? nil : comment
            }
            previous = character
        }
        return nil
    }

    /// The metadata as JSON, for a database Datasette calls `databaseName` (the file name
    /// without its extension: `demo` for `demo.sqlite`).
    public static func json(databaseName: String) throws -> String {
        var tableEntries: [String] = []
        for table in try tables() {
            var fields: [String] = []
            if let description = table.description { fields.append("\"description\": \(jsonStringLiteral(description))") }
            if let label = table.labelColumn { fields.append("\"label_column\": \(jsonStringLiteral(label))") }
            if !table.facets.isEmpty {
                fields.append("\"facets\": [\(table.facets.map(jsonStringLiteral).joined(separator: ", "))]")
            }
            if let sort = table.sortDescending { fields.append("\"sort_desc\": \(jsonStringLiteral(sort))") }
            if !table.columns.isEmpty {
                let columns = table.columns.map { "          \(jsonStringLiteral($0.name)): \(jsonStringLiteral($0.description))" }
                fields.append("\"columns\": {\n\(columns.joined(separator: ",\n"))\n        }")
            }
            tableEntries.append("      \(jsonStringLiteral(table.name)): {\n        \(fields.joined(separator: ",\n        "))\n      }")
        }
        return """
            {
              "title": \(jsonStringLiteral(title)),
              "description": \(jsonStringLiteral(databaseDescription)),
              "databases": {
                \(jsonStringLiteral(databaseName)): {
                  "description": \(jsonStringLiteral(databaseDescription)),
                  "tables": {
            \(tableEntries.joined(separator: ",\n"))
                  }
                }
              }
            }

            """
    }

    /// The name Datasette gives the database at `path`: its file name without the last extension.
    public static func databaseName(forPath path: String) -> String {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = file.lastIndex(of: "."), dot != file.startIndex else { return file }
        return String(file[..<dot])
    }
}

fileprivate extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    var trimmedForSchema: String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" || first == "\r" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" || last == "\r" { slice = slice.dropLast() }
        return String(slice)
    }
}
