using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using InfraRelocation.Core.Estate;
using InfraRelocation.Core.Persistence;
using InfraRelocation.Gates;
using InfraRelocation.Remote;
using InfraRelocation.Core.Hashing;

namespace InfraRelocation.Core.Rollback;

/// <summary>One step of a rollback as the journal keeps it: what to run, and what came of it so far.</summary>
public sealed record JournalStep
{
    public int Order { get; init; }
    public string Name { get; init; } = "";
    public RollbackStepKind Kind { get; init; }
    public string? Host { get; init; }
    /// <summary>Remote: exit 0 = already done ("" = no check: the journal makes it run once).</summary>
    public string? Check { get; init; }
    /// <summary>Remote: the command; estate steps: what the step does, in words.</summary>
    public string? Run { get; init; }
    public bool Remote { get; init; }
    public BootstrapStepState State { get; init; } = BootstrapStepState.Planned;
    public string Evidence { get; init; } = "";
    public DateTimeOffset? StartedUtc { get; init; }
    public DateTimeOffset? EndedUtc { get; init; }

    [JsonIgnore]
    public bool Finished => State is BootstrapStepState.Done or BootstrapStepState.Unchanged or BootstrapStepState.Skipped;
}

/// <summary>One value the revert step writes back: the value before the move, expected to replace what the move wrote.</summary>
public sealed record RevertEdit
{
    public string File { get; init; } = "";
    public string Path { get; init; } = "";
    /// <summary>The value before the move (null: the move found it missing or null).</summary>
    public string? Value { get; init; }
    /// <summary>What the move wrote (the current value the edit replaces).</summary>
    public string? Expected { get; init; }
    /// <summary>Where the value comes from: the move's receipt(s), or the rollback plan (a surface edited by hand for the move).</summary>
    public string Source { get; init; } = "";

    public YamlEdit ToYamlEdit() => Value is null
        ? YamlEdit.SetNull(Path, Expected ?? YamlEdit.ExpectAbsent)
        : YamlEdit.Set(Path, Value, Expected ?? YamlEdit.ExpectAbsent);
}

/// <summary>
/// The rollback of one service, frozen when it starts and kept in the estate
/// (<c>.infra-relocation/rollback/&lt;service&gt;.json</c>, written atomically after every step): the steps with their
/// commands and states, the values to revert and the digests before the move. A run that stops (failure, Ctrl+C, lost
/// connection, crash) leaves it; the next run resumes at the first step that did not finish, with the same plan (the
/// estate no longer says what moved once the revert step ran). Deleted when the incident record is written.
/// </summary>
public sealed record RollbackJournal
{
    public const string Folder = ".infra-relocation/rollback";
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Converters = { new JsonStringEnumConverter() } };

    public int Version { get; init; } = 1;
    public string? ChangeId { get; init; }
    public string Service { get; init; } = "";
    /// <summary>The status the service had when the rollback started, and the one before the move (what the revert writes).</summary>
    public string? StatusAtStart { get; init; }
    public string? StatusBeforeMove { get; init; }
    public string? NewHost { get; init; }
    public string RollbackTo { get; init; } = "";
    public string Actor { get; init; } = "";
    public string Why { get; init; } = "";
    /// <summary>-Force: the reason it was forced (past the rollback window or the mutation guard); null when not forced.</summary>
    public string? ForceReason { get; init; }
    public DateTimeOffset StartedUtc { get; init; }
    public string IncidentPath { get; init; } = "";
    /// <summary>Run ids of the move's receipts the reverts come from.</summary>
    public IReadOnlyList<string> MoveRuns { get; init; } = [];
    /// <summary>Run ids of the rollback runs so far (a resumed rollback has several).</summary>
    public IReadOnlyList<string> Runs { get; init; } = [];
    public IReadOnlyList<JournalStep> Steps { get; init; } = [];
    public IReadOnlyList<RevertEdit> Reverts { get; init; } = [];
    /// <summary>SHA-256 of each file before the move's first write to it (from the move's receipts).</summary>
    public IReadOnlyDictionary<string, string?> DigestsBefore { get; init; } = new Dictionary<string, string?>();
    /// <summary>Plan notes (surfaces left for a human, skipped timestamps) for the incident record.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
    /// <summary>Per reverted file, whether it is byte-identical to before the move (set by the revert step).</summary>
    public IReadOnlyList<string> ByteIdentity { get; init; } = [];

    /// <summary>The journal's path relative to the estate root.</summary>
    public static string RelativePath(string service)
    {
        var safe = service.Length is > 0 and <= 80 && service.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') && service[0] != '.'
            ? service
            : "svc-" + Digest.Sha256Hex(service)[..16];
        return $"{Folder}/{safe}.json";
    }

    public static RollbackJournal? Load(EstateLayout layout, string service)
    {
        var path = new EstateBoundary(layout.Root).Resolve(RelativePath(service));
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize<RollbackJournal>(File.ReadAllBytes(path), Json);
        }
        catch (JsonException ex)
        {
            throw new RelocationException("RollbackJournalUnreadable", FailureKind.InvalidData,
                $"The rollback journal {RelativePath(service)} cannot be read ({ex.Message}); nothing was run. Inspect it, then move it away to plan the rollback afresh.",
                new SourceLocation(RelativePath(service), 1, 1), service);
        }
    }

    public void Save(EstateLayout layout)
    {
        var path = new EstateBoundary(layout.Root).Resolve(RelativePath(Service));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        AtomicFile.Write(path, JsonSerializer.SerializeToUtf8Bytes(this, Json));
    }

    public void Delete(EstateLayout layout)
    {
        var path = new EstateBoundary(layout.Root).Resolve(RelativePath(Service));
        File.Delete(path);
    }

    public RollbackJournal With(JournalStep step) => this with { Steps = Steps.Select(s => s.Order == step.Order ? step : s).ToList() };
}
