using System.Text.Json;
using System.Text.Json.Serialization;
using InfraRelocation.Core.Persistence;

namespace InfraRelocation.Core.Provisioning;

/// <summary>One step of a provisioning run as the journal remembers it.</summary>
public sealed record ProvisionJournalStep
{
    public string Name { get; init; } = "";
    /// <summary><c>started</c> (sent, outcome unknown) or <c>done</c>.</summary>
    public string State { get; init; } = "";
    public string? Upid { get; init; }
    public DateTimeOffset At { get; init; }
}

/// <summary>
/// What a provisioning run of one VM target has done so far, kept in
/// <c>.infra-relocation/provision/&lt;hostname&gt;.json</c> (written atomically after every step), so a run
/// that crashed part-way continues where it stopped instead of cloning again. Removed once the target is
/// recorded as provisioned. It holds no secrets.
/// </summary>
public sealed class ProvisionJournal
{
    public const string Folder = ".infra-relocation/provision";

    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly object _sync = new();
    private string _path = "";

    public string Hostname { get; set; } = "";
    public string? HypervisorHost { get; set; }
    public string? Node { get; set; }
    public int? VmId { get; set; }
    public int? TemplateVmId { get; set; }
    public DateTimeOffset StartedUtc { get; set; }
    public DateTimeOffset UpdatedUtc { get; set; }
    public List<ProvisionJournalStep> Steps { get; set; } = [];

    /// <summary>True when the journal was read from disk (a previous run did not finish).</summary>
    [JsonIgnore]
    public bool Existed { get; private set; }

    /// <summary>Relative path of a target's journal.</summary>
    public static string RelativePathFor(string hostname) => $"{Folder}/{hostname}.json";

    /// <summary>The journal of a target, or a new one (not yet written) when there is none.</summary>
    public static ProvisionJournal Open(string estateRoot, string hostname)
    {
        if (hostname.Length == 0 || hostname.IndexOfAny(['/', '\\', ':']) >= 0 || hostname.Contains("..", StringComparison.Ordinal))
        {
            throw new RelocationException("ProvisionTargetInvalid", FailureKind.InvalidArgument,
                $"'{hostname}' is not a VM target hostname.", target: hostname);
        }
        var path = new Estate.EstateBoundary(estateRoot).Resolve(RelativePathFor(hostname));
        ProvisionJournal journal;
        if (File.Exists(path))
        {
            try
            {
                journal = JsonSerializer.Deserialize<ProvisionJournal>(File.ReadAllBytes(path), s_json) ?? new ProvisionJournal();
                journal.Existed = true;
            }
            catch (JsonException e)
            {
                throw new RelocationException("ProvisionJournalInvalid", FailureKind.InvalidData,
                    $"The provisioning journal {RelativePathFor(hostname)} is not valid JSON ({e.Message}); inspect it, then delete it to start over.",
                    target: RelativePathFor(hostname), inner: e);
            }
        }
        else
        {
            journal = new ProvisionJournal { StartedUtc = DateTimeOffset.UtcNow };
        }
        journal.Hostname = hostname;
        journal._path = path;
        return journal;
    }

    public ProvisionJournalStep? Step(string name)
    {
        lock (_sync) return Steps.LastOrDefault(s => s.Name == name);
    }

    public bool IsDone(string name) => Step(name)?.State == "done";

    /// <summary>Records a step and writes the journal at once (atomically).</summary>
    public void Record(string name, string state, string? upid = null)
    {
        lock (_sync)
        {
            Steps.RemoveAll(s => s.Name == name);
            Steps.Add(new ProvisionJournalStep { Name = name, State = state, Upid = upid, At = DateTimeOffset.UtcNow });
            Save();
        }
    }

    public void Save()
    {
        lock (_sync)
        {
            UpdatedUtc = DateTimeOffset.UtcNow;
            Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
            AtomicFile.Write(_path, JsonSerializer.SerializeToUtf8Bytes(this, s_json));
        }
    }

    /// <summary>Removes the journal (the target is recorded as provisioned).</summary>
    public void Delete()
    {
        lock (_sync)
        {
            if (File.Exists(_path)) File.Delete(_path);
        }
    }
}
