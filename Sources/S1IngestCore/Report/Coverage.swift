import S1JSON

/// One JSON path seen in the stored raw bodies.
public struct CoverageEntry: Sendable, Encodable, Equatable {
    /// `data.threatInfo.classification`; array elements as `[]`: `data.mitigationStatus[].action`.
    public let path: String
    /// Threats whose body has the path with a value other than null.
    public let threats: Int
    /// Where it lands: `threats.classification`, `indicators.ids (JSON)` for a key inside a
    /// JSON column, or `raw only` when no column holds it (only `raw_analyses.body`).
    public let column: String
}

/// What `s1ingest coverage` found.
public struct CoverageReport: Sendable, Encodable {
    /// Raw bodies read.
    public let threats: Int
    /// Raw bodies that did not parse (counted, skipped).
    public let unreadable: Int
    public let paths: [CoverageEntry]

    public init(threats: Int, unreadable: Int, paths: [CoverageEntry]) {
        self.threats = threats
        self.unreadable = unreadable
        self.paths = paths
    }

    /// Paths no column holds.
    public var rawOnly: [CoverageEntry] { paths.filter { $0.column == Coverage.rawOnly } }
}

/// Walks every stored raw body and lists each JSON path it holds, how many threats have it
/// (present and not null), and the column it lands in, or `raw only`: what the console sends
/// that no table models yet (keys a newer console added), and so what to model next.
public enum Coverage {
    static let rawOnly = "raw only"

    /// Reads the raw bodies of the database at `path` (read-only).
    public static func run(databasePath path: String) throws -> CoverageReport {
        let database = try StoreOpener.openForReading(path: path)
        var counts: [String: Int] = [:]
        var seen = Set<String>()
        var threats = 0
        var unreadable = 0
        let statement = try database.prepare("SELECT body FROM raw_analyses")
        while try statement.step() {
            threats += 1
            guard let document = statement.withText(0, { try? JSONDocument(bytes: Array($0)) }) else {
                unreadable += 1
                continue
            }
            seen.removeAll(keepingCapacity: true)
            // A body stored as a bare analysis (a list item, no `data` wrapper) counts as `data`.
            let root = document.root
            if root.kind == .object, root["data"] == nil, root["threatInfo"] != nil {
                collect(root, path: "data", into: &seen)
            } else {
                collect(root, path: "", into: &seen)
            }
            for path in seen { counts[path, default: 0] += 1 }
        }
        statement.reset()
        let paths = counts.keys.sorted().map { CoverageEntry(path: $0, threats: counts[$0]!, column: column(for: $0)) }
        return CoverageReport(threats: threats, unreadable: unreadable, paths: paths)
    }

    /// Adds the path of every non-null scalar (and of every empty object or array) under `value`.
    static func collect(_ value: JSONValue, path: String, into seen: inout Set<String>) {
        switch value.kind {
        case .null:
            return
        case .object:
            let members = value.members
            if members.isEmpty, !path.isEmpty { seen.insert(path) }
            for member in members {
                collect(member.value, path: path.isEmpty ? member.name : path + "." + member.name, into: &seen)
            }
        case .array:
            var any = false
            value.forEachElement { element in
                any = true
                collect(element, path: path + "[]", into: &seen)
            }
            if !any { seen.insert(path) }
        default:
            seen.insert(path)
        }
    }

    /// The column `path` lands in: its own mapping, else the JSON column of the nearest
    /// enclosing path that is kept as JSON, else `raw only`.
    static func column(for path: String) -> String {
        if let column = columns[path] { return column.name + (column.json ? " (JSON)" : "") }
        // An empty array or object whose elements or members have a table: that table (no rows here).
        if let element = columns.keys.filter({ $0.hasPrefix(path + "[]") || $0.hasPrefix(path + ".") }).min() {
            let table = columns[element]!.name.prefix { $0 != "." }
            return "\(table) (rows of its elements)"
        }
        var prefix = Substring(path)
        while let cut = prefix.lastIndex(where: { $0 == "." || $0 == "[" }) {
            prefix = prefix[..<cut]
            if let column = columns[String(prefix)], column.json { return column.name + " (JSON)" }
        }
        return rawOnly
    }

    /// Every path the flattener reads, with its column (`table.column`) and whether the
    /// value is kept as JSON there. Built from the field mappings the flattener uses.
    static let columns: [String: (name: String, json: Bool)] = {
        var map: [String: (name: String, json: Bool)] = [:]
        func add(_ prefix: String, _ fields: [FieldMapping], table: String) {
            for field in fields { map[prefix + "." + field.key] = (table + "." + field.column, field.kind == .json) }
        }
        for section in FieldMappings.threatSections { add("data." + section.key, section.fields, table: "threats") }
        map["data.threatInfo.threatId"] = ("threats.threat_id", false)
        map["data.agentRealtimeInfo.agentId"] = ("agents.agent_id", false)
        add("data.agentRealtimeInfo", FieldMappings.agentRealtimeInfo, table: "agents")
        let interfaces = "data.agentRealtimeInfo.networkInterfaces[]"
        map[interfaces + ".id"] = ("interfaces.interface_id", false)
        map[interfaces + ".name"] = ("interfaces.name", false)
        map[interfaces + ".physical"] = ("interfaces.mac", false)
        map[interfaces + ".inet[]"] = ("interface_addresses.address", false)
        map[interfaces + ".inet6[]"] = ("interface_addresses.address", false)
        map["data.agentDetectionInfo.agentIpV4"] = ("threats.detection_agent_ip_v4, detection_addresses.address", false)
        map["data.agentDetectionInfo.agentIpV6"] = ("threats.detection_agent_ip_v6, detection_addresses.address", false)
        add("data.mitigationStatus[]", FieldMappings.mitigation, table: "mitigations")
        add("data.mitigationStatus[].actionsCounters", FieldMappings.actionsCounters, table: "mitigations")
        map["data.threatInfo.detectionEngines[].key"] = ("detection_engines.engine_key", false)
        map["data.threatInfo.detectionEngines[].title"] = ("detection_engines.title", false)
        map["data.threatInfo.detectionEngines[]"] = ("detection_engines.title", false)
        map["data.threatInfo.engines[]"] = ("engines.engine", false)
        map["data.indicators[].category"] = ("indicators.category", false)
        map["data.indicators[].categoryId"] = ("indicators.category_id", false)
        map["data.indicators[].description"] = ("indicators.description", false)
        map["data.indicators[].ids"] = ("indicators.ids", true)
        map["data.indicators[].tactics[].name"] = ("indicator_tactics.name", false)
        map["data.indicators[].tactics[].source"] = ("indicator_tactics.source", false)
        map["data.indicators[].tactics[].techniques[].name"] = ("indicator_techniques.name", false)
        map["data.indicators[].tactics[].techniques[].link"] = ("indicator_techniques.link", false)
        map["data.whiteningOptions[]"] = ("whitening_options.option", false)
        map["data.customDetectionRules[]"] = ("custom_detection_rules.rule", true)
        return map
    }()
}
