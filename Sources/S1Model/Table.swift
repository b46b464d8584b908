import S1JSON
import S1Common
/// The tables an analysis is flattened into, with their columns in insert order. The
/// columns must match `migrations/` exactly; a test checks every one against a fresh database.
public enum Table: Int, CaseIterable, Sendable {
    case agents, interfaces, interfaceAddresses, threats, detectionAddresses, mitigations, detectionEngines,
         engines, indicators, indicatorTactics, indicatorTechniques, whiteningOptions, customDetectionRules, rawAnalyses

    /// The SQL table name.
    public var name: String {
        switch self {
        case .agents: return "agents"
        case .interfaces: return "interfaces"
        case .interfaceAddresses: return "interface_addresses"
        case .threats: return "threats"
        case .detectionAddresses: return "detection_addresses"
        case .mitigations: return "mitigations"
        case .detectionEngines: return "detection_engines"
        case .engines: return "engines"
        case .indicators: return "indicators"
        case .indicatorTactics: return "indicator_tactics"
        case .indicatorTechniques: return "indicator_techniques"
        case .whiteningOptions: return "whitening_options"
        case .customDetectionRules: return "custom_detection_rules"
        case .rawAnalyses: return "raw_analyses"
        }
    }

    /// Columns in the order the flattener writes their values.
    public var columns: [String] { Self.columnLists[rawValue] }

    /// Tables whose rows belong to one threat and are replaced when it is ingested again.
    public static let threatChildren: [Table] = [
        .detectionAddresses, .mitigations, .detectionEngines, .engines, .indicators, .indicatorTactics,
        .indicatorTechniques, .whiteningOptions, .customDetectionRules,
    ]

    /// Tables whose rows belong to one agent and are replaced when it is ingested again.
    public static let agentChildren: [Table] = [.interfaceAddresses, .interfaces]

    /// Columns kept from the first insert when a row is updated.
    package static let keptOnUpdate: Set<String> = ["first_ingested_at"]

    /// True for tables keyed by one ID whose rows are upserted (one row per analysis).
    package var isUpserted: Bool { self == .agents || self == .threats || self == .rawAnalyses }

    private static let columnLists: [[String]] = allCases.map { table in
        switch table {
        case .agents:
            return ["agent_id"] + FieldMappings.agentRealtimeInfo.map(\.column)
                + ["last_threat_id", "first_ingested_at", "last_ingested_at"]
        case .interfaces: return ["agent_id", "interface_id", "position", "name", "mac"]
        case .interfaceAddresses: return ["agent_id", "interface_id", "family", "address"]
        case .threats:
            return ["threat_id", "agent_id"] + FieldMappings.threatSections.flatMap { $0.fields.map(\.column) }
                + ["first_ingested_at", "last_ingested_at"]
        case .detectionAddresses: return ["threat_id", "family", "position", "address"]
        case .mitigations:
            return ["threat_id", "position"] + FieldMappings.mitigation.map(\.column) + FieldMappings.actionsCounters.map(\.column)
        case .detectionEngines: return ["threat_id", "position", "engine_key", "title"]
        case .engines: return ["threat_id", "position", "engine"]
        case .indicators: return ["threat_id", "position", "category", "category_id", "description", "ids"]
        case .indicatorTactics: return ["threat_id", "indicator_position", "position", "name", "source"]
        case .indicatorTechniques:
            return ["threat_id", "indicator_position", "tactic_position", "position", "tactic", "name", "link"]
        case .whiteningOptions: return ["threat_id", "option"]
        case .customDetectionRules: return ["threat_id", "position", "rule"]
        case .rawAnalyses: return ["threat_id", "body", "source", "ingested_at"]
        }
    }
}
