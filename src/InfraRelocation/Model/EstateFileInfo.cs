namespace InfraRelocation.Model;

/// <summary>One protocol file of an estate: where it is expected, whether it exists, and its digest.</summary>
public sealed record EstateFileInfo
{
    /// <summary>Which protocol file this is, e.g. <c>Manifest</c>, <c>ServiceRegistry</c>.</summary>
    public required string Kind { get; init; }
    /// <summary>Path relative to the estate root, as shown in findings.</summary>
    public required string Path { get; init; }
    public required string FullPath { get; init; }
    public required bool Exists { get; init; }
    /// <summary>SHA-256 (lower-case hex) of the file's bytes; empty when missing.</summary>
    public string Sha256 { get; init; } = "";
    public long Length { get; init; }
    public required string Root { get; init; }
}
