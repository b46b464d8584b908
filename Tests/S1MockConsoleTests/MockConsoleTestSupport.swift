import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import S1MockConsole

/// A response as the tests look at it.
struct Fetched {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body parsed as a JSON object (throws when it is not one).
    func json() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw TestFailure("body is not a JSON object: \(text.prefix(200))")
        }
        return object
    }

    /// `errors[0].code` of an errors body.
    func errorCode() throws -> Int? {
        let errors = try json()["errors"] as? [[String: Any]]
        return errors?.first?["code"] as? Int
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Starts a console, hands it and a fresh client to `body`, and always shuts both down.
func withConsole<T>(
    _ configuration: MockConsoleConfiguration,
    clientConfiguration: HTTPClient.Configuration = HTTPClient.Configuration(),
    threads: Int = 1,
    _ body: (MockConsole, HTTPClient) async throws -> T
) async throws -> T {
    var configuration = configuration
    configuration.threads = threads
    let console = try await MockConsole.start(configuration)
    let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
    do {
        let result = try await body(console, client)
        try await client.shutdown()
        try await console.shutdown()
        return result
    } catch {
        try? await client.shutdown()
        try? await console.shutdown()
        throw error
    }
}

/// `GET url` with `headers`, collecting the whole body.
func get(
    _ client: HTTPClient, _ url: String, headers: [(String, String)] = [], timeout: TimeAmount = .seconds(10)
) async throws -> Fetched {
    var request = HTTPClientRequest(url: url)
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    let response = try await client.execute(request, timeout: timeout)
    let body = try await response.body.collect(upTo: 256 << 20)
    return Fetched(status: Int(response.status.code), headers: response.headers, body: Array(buffer: body))
}

extension MockConsole {
    /// The analysis URL of `threatId`.
    func analysisURL(_ threatId: String) -> String {
        "\(baseURL)/web/api/v2.1/private/threats/\(threatId)/analysis"
    }

    /// The list URL with `query` (already encoded).
    func listURL(_ query: String) -> String {
        "\(baseURL)/web/api/v2.1/threats?\(query)"
    }
}

/// One page of the list endpoint, parsed.
struct ListPage {
    var items: [[String: Any]]
    var nextCursor: String?
    var totalItems: Int

    var ids: [String] { items.compactMap { $0["id"] as? String } }
    var updatedAts: [String] { items.compactMap { ($0["threatInfo"] as? [String: Any])?["updatedAt"] as? String } }

    init(_ fetched: Fetched) throws {
        guard fetched.status == 200 else { throw TestFailure("list status \(fetched.status): \(fetched.text.prefix(300))") }
        let object = try fetched.json()
        guard let items = object["data"] as? [[String: Any]], let pagination = object["pagination"] as? [String: Any],
              let total = pagination["totalItems"] as? Int
        else { throw TestFailure("not a list body: \(fetched.text.prefix(300))") }
        self.items = items
        self.totalItems = total
        self.nextCursor = pagination["nextCursor"] as? String
        if nextCursor == nil, !(pagination["nextCursor"] is NSNull) {
            throw TestFailure("nextCursor is neither a string nor null")
        }
    }
}

/// Percent-encodes a query value (everything but unreserved characters).
func queryEncoded(_ value: String) -> String {
    value.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"))!
}

/// Walks every page of a listing with `query`, returning the pages.
func listAll(_ client: HTTPClient, _ console: MockConsole, query: String, maxPages: Int = 100) async throws -> [ListPage] {
    var pages: [ListPage] = []
    var cursor: String?
    repeat {
        let url = console.listURL(query + (cursor.map { "&cursor=\(queryEncoded($0))" } ?? ""))
        let page = try ListPage(try await get(client, url))
        pages.append(page)
        cursor = page.nextCursor
        if pages.count > maxPages { throw TestFailure("more than \(maxPages) pages") }
    } while cursor != nil
    return pages
}
