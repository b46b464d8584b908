import S1JSON
import S1Common
/// How a JSON value becomes a column value.
public enum FieldKind: Sendable {
    /// Strings as decoded, numbers as their digits, booleans as `true`/`false`, objects and arrays as JSON.
    case text
    /// As `text`, but an empty string is NULL (IDs, MACs, report links).
    case optionalText
    /// Whole numbers (from numbers or digit strings) as INTEGER.
    case integer
    /// `true`/`false` (or `"true"`/`"false"`, 0/1) as 1/0.
    case boolean
    /// ISO-8601 UTC, normalised to six fractional digits and `Z` so text order is time order.
    case timestamp
    /// Objects and arrays as JSON text; a string as itself.
    case json
}

/// One JSON key of an object mapped to one column.
public struct FieldMapping: Sendable {
    /// The JSON key, e.g. `agentIpV4`.
    public let key: String
    /// The column, e.g. `detection_agent_ip_v4`: the prefix plus the key in snake_case.
    public let column: String
    public let kind: FieldKind
    /// The key's UTF-8 bytes, for lookups without making strings.
    package let keyBytes: [UInt8]

    package init(_ key: String, _ kind: FieldKind = .text, prefix: String = "") {
        self.key = key
        self.keyBytes = Array(key.utf8)
        self.column = prefix + snakeCase(key)
        self.kind = kind
    }
}

/// `agentIpV4` -> `agent_ip_v4`, `isValidCertificate` -> `is_valid_certificate`, `sha256` -> `sha256`.
public func snakeCase(_ key: String) -> String {
    var result = ""
    var previous: Character?
    for character in key {
        if character.isUppercase, let previous, previous.isLowercase || previous.isNumber {
            result.append("_")
        }
        result.append(contentsOf: character.lowercased())
        previous = character
    }
    return result
}

/// Every JSON key the flattener turns into a column, by the object it comes from.
public enum FieldMappings {
    /// `threatInfo` scalars (arrays such as `detectionEngines` have tables of their own).
    public static let threatInfo: [FieldMapping] = [
        .init("analystVerdict"), .init("analystVerdictDescription"), .init("automaticallyResolved", .boolean),
        .init("browserType"), .init("certificateId"), .init("classification"), .init("classificationSource"),
        .init("cloudFilesHashVerdict"), .init("collectionId", .optionalText), .init("confidenceLevel"),
        .init("createdAt", .timestamp), .init("detectionType"), .init("externalTicketExists", .boolean),
        .init("externalTicketId"), .init("failedActions", .boolean), .init("fileExtension"),
        .init("fileExtensionType"), .init("filePath"), .init("fileSize", .integer), .init("fileVerificationType"),
        .init("identifiedAt", .timestamp), .init("incidentStatus"), .init("incidentStatusDescription"),
        .init("initiatedBy"), .init("initiatedByDescription"), .init("initiatingUserId", .optionalText),
        .init("initiatingUsername"), .init("isFileless", .boolean), .init("isValidCertificate", .boolean),
        .init("macroModules", .json), .init("maliciousProcessArguments"), .init("md5", .optionalText),
        .init("mitigatedPreemptively", .boolean), .init("mitigationStatus"), .init("mitigationStatusDescription"),
        .init("originatorProcess"), .init("pendingActions", .boolean), .init("processUser"), .init("publisherName"),
        .init("reachedEventsLimit", .boolean), .init("rebootRequired", .boolean), .init("rootProcessUpn"),
        .init("sha1", .optionalText), .init("sha256", .optionalText), .init("storyline"), .init("threatName"),
        .init("updatedAt", .timestamp),
    ]

    /// `agentDetectionInfo`: the agent as it was at detection, columns `detection_*` of `threats`.
    public static let agentDetectionInfo: [FieldMapping] = [
        ("accountId", FieldKind.optionalText), ("accountName", .text), ("agentDetectionState", .text),
        ("agentDomain", .text), ("agentIpV4", .text), ("agentIpV6", .text), ("agentLastLoggedInUpn", .text),
        ("agentLastLoggedInUserMail", .text), ("agentLastLoggedInUserName", .text), ("agentMitigationMode", .text),
        ("agentOsName", .text), ("agentOsRevision", .text), ("agentRegisteredAt", .timestamp), ("agentUuid", .text),
        ("agentVersion", .text), ("assetVersion", .text), ("cloudProviders", .json), ("externalIp", .optionalText),
        ("groupId", .optionalText), ("groupName", .text), ("siteId", .optionalText), ("siteName", .text),
    ].map { FieldMapping($0.0, $0.1, prefix: "detection_") }

    /// `containerInfo`, columns `container_*` of `threats`.
    public static let containerInfo: [FieldMapping] = [
        ("id", FieldKind.optionalText), ("image", .text), ("isContainerQuarantine", .boolean), ("labels", .json), ("name", .text),
    ].map { FieldMapping($0.0, $0.1, prefix: "container_") }

    /// `kubernetesInfo`, columns `kubernetes_*` of `threats`.
    public static let kubernetesInfo: [FieldMapping] = [
        ("cluster", FieldKind.text), ("controllerKind", .text), ("controllerLabels", .json), ("controllerName", .text),
        ("isContainerQuarantine", .boolean), ("namespace", .text), ("namespaceLabels", .json), ("node", .text),
        ("nodeLabels", .json), ("pod", .text), ("podLabels", .json),
    ].map { FieldMapping($0.0, $0.1, prefix: "kubernetes_") }

    /// `ecsInfo` (newer consoles), columns `ecs_*` of `threats`.
    public static let ecsInfo: [FieldMapping] = [
        "clusterName", "serviceArn", "serviceName", "taskArn", "taskAvailabilityZone", "taskDefinitionArn",
        "taskDefinitionFamily", "taskDefinitionRevision", "type", "version",
    ].map { FieldMapping($0, .text, prefix: "ecs_") }

    /// `agentRealtimeInfo` scalars except `agentId` (the key), columns of `agents`.
    public static let agentRealtimeInfo: [FieldMapping] = [
        .init("accountId", .optionalText), .init("accountName"), .init("activeThreats", .integer),
        .init("agentComputerName"), .init("agentDecommissionedAt", .timestamp), .init("agentDomain"),
        .init("agentInfected", .boolean), .init("agentIsActive", .boolean), .init("agentIsDecommissioned", .boolean),
        .init("agentMachineType"), .init("agentMitigationMode"), .init("agentNetworkStatus"), .init("agentOsName"),
        .init("agentOsRevision"), .init("agentOsType"), .init("agentUuid"), .init("agentVersion"),
        .init("groupId", .optionalText), .init("groupName"), .init("operationalState"), .init("rebootRequired", .boolean),
        .init("scanAbortedAt", .timestamp), .init("scanFinishedAt", .timestamp), .init("scanStartedAt", .timestamp),
        .init("scanStatus"), .init("siteId", .optionalText), .init("siteName"), .init("storageName"),
        .init("storageType"), .init("userActionsNeeded", .json),
    ]

    /// `mitigationStatus[]` scalars, columns of `mitigations` (the counters are separate).
    public static let mitigation: [FieldMapping] = [
        .init("action"), .init("status"), .init("agentSupportsReport", .boolean), .init("groupNotFound", .boolean),
        .init("lastUpdate", .timestamp), .init("latestReport", .optionalText), .init("mitigationEndedAt", .timestamp),
        .init("mitigationStartedAt", .timestamp), .init("reportId", .optionalText),
    ]

    /// `mitigationStatus[].actionsCounters`, columns `actions_*` of `mitigations`.
    public static let actionsCounters: [FieldMapping] = ["failed", "notFound", "pendingReboot", "success", "total"]
        .map { FieldMapping($0, .integer, prefix: "actions_") }

    /// The objects under `data` whose scalars become `threats` columns, with their mappings.
    public static let threatSections: [(key: String, fields: [FieldMapping])] = [
        ("threatInfo", threatInfo), ("agentDetectionInfo", agentDetectionInfo), ("containerInfo", containerInfo),
        ("kubernetesInfo", kubernetesInfo), ("ecsInfo", ecsInfo),
    ]
}
