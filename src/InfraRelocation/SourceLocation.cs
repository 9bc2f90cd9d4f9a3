namespace InfraRelocation;

/// <summary>Where a value was read from: a file (relative to the estate root), a 1-based line and column.</summary>
public sealed record SourceLocation(string File, int Line, int Column)
{
    /// <summary>The editor-friendly <c>file:line:column</c> form used in every message.</summary>
    public override string ToString() => $"{File}:{Line}:{Column}";
}
