namespace InfraRelocation;

/// <summary>
/// The kind of failure, mirroring PowerShell's ErrorCategory without referencing PowerShell
/// (the cmdlet base class maps one onto the other).
/// </summary>
public enum FailureKind
{
    InvalidArgument,
    InvalidData,
    ParserError,
    ObjectNotFound,
    InvalidOperation,
    ResourceBusy,
    ResourceUnavailable,
    ConnectionError,
    AuthenticationError,
    SecurityError,
    OperationTimeout,
    OperationStopped,
    PermissionDenied,
    WriteError,
}

/// <summary>
/// A failure the user can act on: bad input, a refused transition, an unreachable host.
/// Carries a stable error id and, for anything read from a file, its location.
/// </summary>
public class RelocationException : Exception
{
    public RelocationException(string errorId, FailureKind kind, string message,
        SourceLocation? location = null, object? target = null, Exception? inner = null)
        : base(message, inner)
    {
        ErrorId = errorId;
        Kind = kind;
        Location = location;
        Target = target;
    }

    /// <summary>PascalCase, stable: becomes the first half of the FullyQualifiedErrorId.</summary>
    public string ErrorId { get; }
    public FailureKind Kind { get; }
    public SourceLocation? Location { get; }
    /// <summary>The offending input (a path, a name, a value).</summary>
    public object? Target { get; }
    /// <summary>What the user should do about it; the cmdlets fill a default by <see cref="Kind"/> when empty.</summary>
    public string? RecommendedAction { get; init; }
    /// <summary>Findings behind the failure, when there are several.</summary>
    public IReadOnlyList<RelocationFinding> Findings { get; init; } = [];

    /// <summary>The message prefixed with <c>file:line:column</c> when known.</summary>
    public string LocatedMessage => Location is null ? Message : $"{Location}: {Message}";
}
