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

    /// <summary>A finding of the given severity: the one way Core and the cmdlets build findings.</summary>
    public static RelocationFinding Of(FindingSeverity severity, string ruleId, string message, SourceLocation? at = null,
        string? path = null, string? subject = null, SourceLocation? related = null, string? expected = null, string? actual = null) => new()
    {
        RuleId = ruleId, Severity = severity, Message = message, Location = at, DocumentPath = path,
        Subject = subject, RelatedLocation = related, Expected = expected, Actual = actual,
    };

    /// <summary>An error finding (fails its gate); see <see cref="Of"/>.</summary>
    public static RelocationFinding Error(string ruleId, string message, SourceLocation? at = null, string? path = null,
        string? subject = null, SourceLocation? related = null, string? expected = null, string? actual = null) =>
        Of(FindingSeverity.Error, ruleId, message, at, path, subject, related, expected, actual);

    /// <summary>A warning finding (reported only); see <see cref="Of"/>.</summary>
    public static RelocationFinding Warning(string ruleId, string message, SourceLocation? at = null, string? path = null,
        string? subject = null, SourceLocation? related = null, string? expected = null, string? actual = null) =>
        Of(FindingSeverity.Warning, ruleId, message, at, path, subject, related, expected, actual);

    public override string ToString() =>
        Location is null ? $"{Severity} {RuleId}: {Message}" : $"{Location}: {Severity} {RuleId}: {Message}";
}
