namespace InfraRelocation;

/// <summary>How much a finding matters: errors fail a gate, warnings are reported only.</summary>
public enum FindingSeverity
{
    Information,
    Warning,
    Error,
}

/// <summary>
/// One problem found by validation or a gate. A disagreement between two files names both sides:
/// <see cref="Location"/> is where the rule was evaluated (usually the manifest) and
/// <see cref="RelatedLocation"/> the other file's value.
/// </summary>
public sealed record RelocationFinding
{
    /// <summary>Stable rule identifier, e.g. <c>D35.RegistryHostMismatch</c>.</summary>
    public required string RuleId { get; init; }
    public required FindingSeverity Severity { get; init; }
    public required string Message { get; init; }
    public SourceLocation? Location { get; init; }
    /// <summary>Path into the document, e.g. <c>services[3].to_host</c>.</summary>
    public string? DocumentPath { get; init; }
    /// <summary>The service, VM or host the finding is about.</summary>
    public string? Subject { get; init; }
    public SourceLocation? RelatedLocation { get; init; }
    public string? Expected { get; init; }
    public string? Actual { get; init; }

    public override string ToString() =>
        Location is null ? $"{Severity} {RuleId}: {Message}" : $"{Location}: {Severity} {RuleId}: {Message}";
}
