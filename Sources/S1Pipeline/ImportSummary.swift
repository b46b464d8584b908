import S1Storage
import S1Common
import S1JSON
import S1Model
import S1Console
/// A document or input that could not be imported, and why.
public struct ImportProblem: Sendable, CustomStringConvertible {
    /// `file:line`, `file[index] (line N)`, or the file name for whole-file failures.
    public let location: String
    public let reason: String

    public var description: String { "\(location): \(reason)" }

    /// The reason without its details, for grouping (`not valid JSON`): the text before
    /// the first `: `, ` (` or ` {`.
    public var category: String {
        var end = reason.endIndex
        for separator in [": ", " (", " {"] {
            if let range = reason.range(of: separator), range.lowerBound < end { end = range.lowerBound }
        }
        return reason[..<end].trimmingCharacters(in: .whitespaces)
    }
}

/// What an import did, for the end-of-run summary and `--json`.
public struct ImportSummary: Sendable {
    /// Documents split from the inputs, usable or not.
    public var documentsRead = 0
    /// Threat analyses found in them.
    public var analysesFound = 0
    /// Outcome counts of the analyses stored.
    public var outcomes: [StoreOutcome: Int] = [:]
    /// Every problem, up to `problemDetailLimit`; `problemCount` counts them all.
    public var problems: [ImportProblem] = []
    public var problemCount = 0
    /// Rows per table in the database at the end.
    public var rowCounts: [(table: String, rows: Int)] = []
    /// Bytes read from the inputs.
    public var bytesRead = 0
    /// Wall-clock seconds.
    public var elapsedSeconds = 0.0

    package static let problemDetailLimit = 1000

    /// Analyses written (new or replaced).
    public var stored: Int { (outcomes[.inserted] ?? 0) + (outcomes[.updated] ?? 0) }

    /// Analyses handled per second.
    public var analysesPerSecond: Double { elapsedSeconds > 0 ? Double(analysesFound) / elapsedSeconds : 0 }

    /// Problems grouped by category, most frequent first.
    public var problemsByCategory: [(category: String, count: Int)] {
        var counts: [String: Int] = [:]
        for problem in problems { counts[problem.category, default: 0] += 1 }
        let listed = problems.count
        if problemCount > listed { counts["(not itemised)", default: 0] += problemCount - listed }
        return counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    package mutating func record(_ problem: ImportProblem) {
        problemCount += 1
        if problems.count < Self.problemDetailLimit { problems.append(problem) }
    }
}

import Foundation
