/// The s1ingest release, recorded in run records and printed by `--version`.
public enum S1IngestVersion {
    public static let current = "0.1.0"
}
