import S1JSON

/// Turns one decoded threat analysis into rows for every table. A pure function of the
/// document and the ingest time: safe to run on any thread.
public enum AnalysisFlattener {
    /// Flattens `analysis`; `ingestedAt` fills the ingest-time columns.
    public static func flatten(_ analysis: DecodedAnalysis, ingestedAt: String) -> FlattenedAnalysis {
        let data = analysis.data
        let threatId = analysis.threatId
        var rows = RowBuilder(capacity: analysis.body.document.bytes.count * 2)

        let realtime = data["agentRealtimeInfo"].flatMap { $0.kind == .object ? $0 : nil }
        let agentId = realtime?["agentId"].flatMap(AnalysisDecoder.identifierText)
        var fingerprint: UInt64 = 0
        var interfacesFingerprint: UInt64 = 0
        if let realtime, let agentId {
            fingerprint = realtime.withRawBytes(fnv1a)
            interfacesFingerprint = realtime["networkInterfaces"]?.withRawBytes(fnv1a) ?? 0
            addAgent(realtime, agentId: agentId, threatId: threatId, ingestedAt: ingestedAt, to: &rows)
        }

        // threats
        rows.begin(.threats)
        rows.text(threatId)
        rows.text(agentId)
        for section in FieldMappings.threatSections { rows.fields(of: data[section.key], section.fields) }
        rows.text(ingestedAt)
        rows.text(ingestedAt)
        rows.end()

        let threatInfo = data["threatInfo"]
        let detection = data["agentDetectionInfo"]
        addDetectionAddresses(detection?["agentIpV4"], family: 4, threatId: threatId, to: &rows)
        addDetectionAddresses(detection?["agentIpV6"], family: 6, threatId: threatId, to: &rows)
        addMitigations(data["mitigationStatus"], threatId: threatId, to: &rows)
        addDetectionEngines(threatInfo?["detectionEngines"], threatId: threatId, to: &rows)
        addEngines(threatInfo?["engines"], threatId: threatId, to: &rows)
        addIndicators(data["indicators"], threatId: threatId, to: &rows)
        addWhiteningOptions(data["whiteningOptions"], threatId: threatId, to: &rows)
        addCustomDetectionRules(data["customDetectionRules"], threatId: threatId, to: &rows)

        rows.begin(.rawAnalyses)
        rows.text(threatId)
        analysis.body.withRawBytes { rows.text($0) }
        rows.text(analysis.location.description)
        rows.text(ingestedAt)
        rows.end()

        var updatedAt: String?
        if let value = threatInfo?["updatedAt"], value.kind == .string {
            updatedAt = value.withStringBytes { bytes in
                normalizeTimestamp(bytes).map { String(decoding: $0, as: UTF8.self) } ?? String(decoding: bytes, as: UTF8.self)
            }
        }
        return FlattenedAnalysis(threatId: threatId, agentId: agentId, updatedAt: updatedAt, agentFingerprint: fingerprint,
                                 interfacesFingerprint: interfacesFingerprint, source: analysis.location.description, arena: rows.arena, values: rows.values, rows: rows.rows)
    }

    static func addAgent(_ realtime: JSONValue, agentId: String, threatId: String, ingestedAt: String, to rows: inout RowBuilder) {
        rows.begin(.agents)
        rows.text(agentId)
        rows.fields(of: realtime, FieldMappings.agentRealtimeInfo)
        rows.text(threatId)
        rows.text(ingestedAt)
        rows.text(ingestedAt)
        rows.end()

        forEachObject(realtime["networkInterfaces"]) { position, interface in
            let interfaceId = interface["id"].flatMap(AnalysisDecoder.identifierText) ?? "position-\(position)"
            rows.begin(.interfaces)
            rows.text(agentId)
            rows.text(interfaceId)
            rows.integer(Int64(position))
            rows.field(interface["name"], .text)
            rows.field(interface["physical"], .optionalText)
            rows.end()
            for (key, family) in [("inet", Int64(4)), ("inet6", Int64(6))] {
                forEachNonEmptyString(interface[key]) { address in
                    rows.begin(.interfaceAddresses)
                    rows.text(agentId)
                    rows.text(interfaceId)
                    rows.integer(family)
                    rows.text(address)
                    rows.end()
                }
            }
        }
    }

    /// `"10.0.0.1,172.17.0.1"` -> one row per address.
    static func addDetectionAddresses(_ list: JSONValue?, family: Int64, threatId: String, to rows: inout RowBuilder) {
        guard let list, list.kind == .string else { return }
        list.withStringBytes { text in
            var position: Int64 = 0
            var start = 0
            while start <= text.count {
                var end = start
                while end < text.count, text[end] != UInt8(ascii: ",") { end += 1 }
                let address = trimmingSpaces(UnsafeRawBufferPointer(rebasing: text[start ..< end]))
                if !address.isEmpty {
                    rows.begin(.detectionAddresses)
                    rows.text(threatId)
                    rows.integer(family)
                    rows.integer(position)
                    rows.text(address)
                    rows.end()
                    position += 1
                }
                start = end + 1
            }
        }
    }

    static func addMitigations(_ list: JSONValue?, threatId: String, to rows: inout RowBuilder) {
        forEachObject(list) { position, mitigation in
            rows.begin(.mitigations)
            rows.text(threatId)
            rows.integer(Int64(position))
            rows.fields(of: mitigation, FieldMappings.mitigation)
            rows.fields(of: mitigation["actionsCounters"], FieldMappings.actionsCounters)
            rows.end()
        }
    }

    static func addDetectionEngines(_ list: JSONValue?, threatId: String, to rows: inout RowBuilder) {
        forEachNonNull(list) { position, engine in
            rows.begin(.detectionEngines)
            rows.text(threatId)
            rows.integer(Int64(position))
            if engine.kind == .object {
                rows.field(engine["key"], .text)
                rows.field(engine["title"], .text)
            } else {
                rows.null()
                rows.field(engine, .text)
            }
            rows.end()
        }
    }

    static func addEngines(_ list: JSONValue?, threatId: String, to rows: inout RowBuilder) {
        forEachNonNull(list) { position, engine in
            rows.begin(.engines)
            rows.text(threatId)
            rows.integer(Int64(position))
            rows.field(engine, .text)
            rows.end()
        }
    }

    static func addIndicators(_ list: JSONValue?, threatId: String, to rows: inout RowBuilder) {
        forEachObject(list) { position, indicator in
            rows.begin(.indicators)
            rows.text(threatId)
            rows.integer(Int64(position))
            rows.field(indicator["category"], .text)
            rows.field(indicator["categoryId"], .integer)
            rows.field(indicator["description"], .text)
            rows.field(indicator["ids"], .json)
            rows.end()
            forEachObject(indicator["tactics"]) { tacticPosition, tactic in
                rows.begin(.indicatorTactics)
                rows.text(threatId)
                rows.integer(Int64(position))
                rows.integer(Int64(tacticPosition))
                rows.field(tactic["name"], .text)
                rows.field(tactic["source"], .text)
                rows.end()
                forEachObject(tactic["techniques"]) { techniquePosition, technique in
                    rows.begin(.indicatorTechniques)
                    rows.text(threatId)
                    rows.integer(Int64(position))
                    rows.integer(Int64(tacticPosition))
                    rows.integer(Int64(techniquePosition))
                    rows.field(tactic["name"], .text)
                    rows.field(technique["name"], .text)
                    rows.field(technique["link"], .text)
                    rows.end()
                }
            }
        }
    }

    static func addWhiteningOptions(_ list: JSONValue?, threatId: String, to rows: inout RowBuilder) {
        forEachNonEmptyString(list) { option in
            rows.begin(.whiteningOptions)
            rows.text(threatId)
            rows.text(option)
            rows.end()
        }
    }

    static func addCustomDetectionRules(_ list: JSONValue?, threatId: String, to rows: inout RowBuilder) {
        forEachNonNull(list) { position, rule in
            rows.begin(.customDetectionRules)
            rows.text(threatId)
            rows.integer(Int64(position))
            rule.withRawBytes { rows.text($0) }
            rows.end()
        }
    }

    /// Calls `body` with each object element of an array and its position among them
    /// (anything else in the array is ignored).
    static func forEachObject(_ list: JSONValue?, _ body: (Int, JSONValue) -> Void) {
        var position = 0
        list?.forEachElement { element in
            guard element.kind == .object else { return }
            body(position, element)
            position += 1
        }
    }

    /// Calls `body` with each element of an array that is not null, and its position in the array.
    static func forEachNonNull(_ list: JSONValue?, _ body: (Int, JSONValue) -> Void) {
        var position = 0
        list?.forEachElement { element in
            defer { position += 1 }
            if !element.isNull { body(position, element) }
        }
    }

    /// Calls `body` with the non-empty, trimmed strings of an array: `inet: [""]` yields none.
    static func forEachNonEmptyString(_ list: JSONValue?, _ body: (UnsafeRawBufferPointer) -> Void) {
        list?.forEachElement { element in
            guard element.kind == .string else { return }
            element.withStringBytes { bytes in
                let text = trimmingSpaces(bytes)
                if !text.isEmpty { body(text) }
            }
        }
    }

    /// `bytes` without leading and trailing spaces and tabs.
    static func trimmingSpaces(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        func isSpace(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        var start = 0
        var end = bytes.count
        while start < end, isSpace(bytes[start]) { start += 1 }
        while end > start, isSpace(bytes[end - 1]) { end -= 1 }
        return UnsafeRawBufferPointer(rebasing: bytes[start ..< end])
    }

    /// FNV-1a, 64-bit: a cheap fingerprint to notice an unchanged agent.
    static func fnv1a(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}
